/**
 * The operations console: a page served under `/console/` by the API process. It is plain
 * HTML, CSS and browser ES modules (no build step) that sign in with an API key and read
 * everything through the `/v1` API with it, so the API's auth, roles, rate limits and
 * row-level security apply to the console unchanged. This plugin only serves files:
 *
 *   /console/             the page (index.html)
 *   /console/<file>       a file of api/console/public, by its exact relative path
 *   /console/vendor/chart.umd.js   Chart.js from node_modules (no CDN)
 *   /console/config.json  where the Temporal UI is, so call pages can link to histories
 *
 * The files are read once at registration into a table keyed by relative path: a request
 * can only name an entry of that table, so no URL reaches anything else on disk.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleOptions {
  /** Base URL of the Temporal Web UI, e.g. `http://127.0.0.1:8233`. */
  temporalUiUrl: string;
  /** Temporal namespace the workflows run in. */
  namespace: string;
}

export const consolePrefix = '/console';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Scripts, styles and data only from this origin; no inline script or style, no framing.
 * With the pages rendering data as text only, injected markup has nothing to run.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
  cacheControl: string;
}

/**
 * The console's own files change with every deployment under the same names: browsers
 * revalidate each use (a 304 costs a round trip, not the body). Chart.js changes only
 * with an upgrade of the package, so a day's caching is safe.
 */
const revalidate = 'no-cache';
const vendorCache = 'public, max-age=86400';

function staticFile(body: Buffer, path: string, cacheControl: string): StaticFile {
  return { body, contentType: contentTypes[extname(path)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, cacheControl };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The served files by their path under `/console/`. */
async function loadFiles(): Promise<Map<string, StaticFile>> {
  const root = fileURLToPath(new URL('./public/', import.meta.url));
  const files = new Map<string, StaticFile>();
  for (const path of await listFiles(root)) {
    if (!(extname(path) in contentTypes)) continue;
    files.set(relative(root, path).split(sep).join('/'), staticFile(await readFile(path), path, revalidate));
  }
  // The package exports only its module entries; the UMD build sits beside them in dist/.
  const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
  files.set('vendor/chart.umd.js', staticFile(await readFile(chartJs), chartJs, vendorCache));
  return files;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers({ 'content-security-policy': contentSecurityPolicy, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' });
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const files = await loadFiles();
  const config = staticFile(Buffer.from(JSON.stringify({ temporalUiUrl: opts.temporalUiUrl.replace(/\/+$/, ''), namespace: opts.namespace })), 'config.json', 'no-store');

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile) => {
    securityHeaders(reply).header('cache-control', file.cacheControl).header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.contentType).send(file.body);
  };

  // Relative URLs in the page resolve against the directory, so the page lives at the slash.
  app.get(consolePrefix, (_request, reply) => reply.redirect(`${consolePrefix}/`, 308));
  app.get(`${consolePrefix}/config.json`, (request, reply) => send(request, reply, config));
  app.get(`${consolePrefix}/*`, (request, reply) => {
    const path = (request.params as { '*': string })['*'] || 'index.html';
    const file = files.get(path);
    if (!file) return reply.callNotFound();
    return send(request, reply, file);
  });
}

/**
 * Brings the local stack up and down as a whole. `up` is idempotent: healthy components
 * are left alone, dead ones are (re)started, and if any component fails to build or
 * start, every component is stopped again and the error names the culprit and its log.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config, type LocalSecrets } from '../config.js';
import { createComponents, type Component } from './components.js';
import { tcpPortInUse } from './health.js';
import { InvalidInputError } from '../../workflows/errors.js';
import { waitUntilHealthy } from './wait.js';

export class StackError extends Error {
  override readonly name = 'StackError';
  readonly retryable = false;
  constructor(
    readonly component: string,
    readonly logFile: string,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`${component} failed: ${reason}\n  log: ${logFile}`, options);
  }
}

export type Reporter = (line: string) => void;

/**
 * Generates the local secrets once (LiveKit's key and secret, the erasure records' key);
 * they never leave the state folder. A file from before a secret existed gains it.
 */
function ensureLocalSecrets(config: Config): void {
  if (config.profile !== 'local') return;
  const existing = existsSync(config.paths.secretsFile) ? (JSON.parse(readFileSync(config.paths.secretsFile, 'utf8')) as Partial<LocalSecrets>) : undefined;
  if (existing?.livekitApiKey && existing.livekitApiSecret && existing.erasureKey) return;
  mkdirSync(path.dirname(config.paths.secretsFile), { recursive: true });
  const secrets: LocalSecrets = {
    livekitApiKey: existing?.livekitApiKey ?? `kc${randomBytes(6).toString('hex')}`,
    livekitApiSecret: existing?.livekitApiSecret ?? randomBytes(32).toString('base64url'),
    erasureKey: existing?.erasureKey ?? randomBytes(32).toString('base64url'),
  };
  writeFileSync(config.paths.secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}

async function isHealthy(c: Component): Promise<boolean> {
  if (!c.isRunning()) return false;
  try {
    await c.health();
    return true;
  } catch {
    return false;
  }
}

async function bringUp(c: Component, config: Config, report: Reporter): Promise<void> {
  const t0 = Date.now();
  await c.prepare((name) => report(`  building ${name} from the Go module proxy (first run only)...`));
  if (await isHealthy(c)) {
    report(`  ✓ ${c.name.padEnd(15)} already running`);
    return;
  }
  await c.stop(); // a stale or unhealthy process from an earlier run
  const busy: number[] = [];
  for (const port of c.tcpPorts) if (await tcpPortInUse(config.host, port)) busy.push(port);
  if (busy.length > 0) {
    throw new Error(`port ${busy.join(', ')} already in use by a process this stack does not own (see \`ss -ltnp\`)`);
  }
  await c.start();
  await waitUntilHealthy(() => c.health(), { timeoutMs: c.startTimeoutMs, isAlive: () => c.isRunning() });
  await c.afterStart?.();
  report(`  ✓ ${c.name.padEnd(15)} healthy in ${Date.now() - t0} ms`);
}

/**
 * Starts the components in dependency order (all of them, or only those named); on
 * failure stops them all and throws StackError.
 */
export async function stackUp(report: Reporter = console.log, only: readonly string[] = []): Promise<Config> {
  ensureLocalSecrets(loadConfig(process.env, { requireSecrets: false }));
  const config = loadConfig();
  const all = createComponents(config);
  const unknown = only.filter((name) => !all.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown component(s) ${unknown.join(', ')}; known: ${all.map((c) => c.name).join(', ')}`);
  }
  const components = only.length === 0 ? all : all.filter((c) => only.includes(c.name));
  for (const c of components) {
    try {
      await bringUp(c, config, report);
    } catch (cause) {
      const error = new StackError(c.name, c.logFile, { cause });
      report(`  ✗ ${error.message}`);
      report('  stopping the other components...');
      await stackDown(() => undefined, config);
      throw error;
    }
  }
  return config;
}

/** Stops every component, dependents first. */
/** Stops the named components (all of them when none are named), dependants first. */
export async function stackDown(
  report: Reporter = console.log,
  config = loadConfig(process.env, { requireSecrets: false }),
  only: string[] = [],
): Promise<void> {
  const all = createComponents(config);
  const unknown = only.filter((name) => !all.some((c) => c.name === name));
  if (unknown.length > 0) throw new InvalidInputError(`unknown component(s) ${unknown.join(', ')}; one of: ${all.map((c) => c.name).join(', ')}`);
  for (const c of all.reverse().filter((c) => only.length === 0 || only.includes(c.name))) {
    const stopped = await c.stop();
    report(`  ${stopped ? '■' : '·'} ${c.name.padEnd(15)} ${stopped ? 'stopped' : 'was not running'}`);
  }
}

export interface ComponentStatus {
  name: string;
  version: string;
  healthy: boolean;
  running: boolean;
  endpoints: string[];
  logFile: string;
  problem?: string;
}

export async function stackStatus(config = loadConfig(process.env, { requireSecrets: false })): Promise<ComponentStatus[]> {
  return Promise.all(
    createComponents(config).map(async (c) => {
      const running = c.isRunning();
      let problem: string | undefined;
      if (running) {
        try {
          await c.health();
        } catch (err) {
          problem = err instanceof Error ? err.message : String(err);
        }
      }
      return {
        name: c.name,
        version: c.version,
        running,
        healthy: running && problem === undefined,
        endpoints: c.endpoints,
        logFile: c.logFile,
        ...(problem === undefined ? {} : { problem }),
      };
    }),
  );
}

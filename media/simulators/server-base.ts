/**
 * What both simulators share: an HTTP server on loopback with `/health`, the `/_sim/*`
 * admin routes, error bodies in the provider's shape, request counting, and a close that
 * ends open streams instead of waiting for them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HttpError, sendJson, sendText } from './http.js';
import type { SimControl } from './sim-control.js';

export interface RunningSimulator<L extends Record<string, unknown>> {
  /** Base URL, e.g. `http://127.0.0.1:8091`. */
  url: string;
  port: number;
  control: SimControl<L>;
  close(): Promise<void>;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export function createSimServer<L extends Record<string, unknown>>(opts: {
  logger: Logger;
  control: SimControl<L>;
  route: RouteHandler;
  errorBody: (status: number, message: string) => unknown;
}): Server {
  const { logger, control, route, errorBody } = opts;
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    void (async () => {
      try {
        if (url.pathname === '/health' && req.method === 'GET') return sendText(res, 200, 'ok');
        if (await control.handle(req, res, url.pathname)) return;
        control.count('httpRequests');
        await route(req, res, url);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (status >= 500) logger.error({ err, path: url.pathname }, 'simulator request failed');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const message = err instanceof HttpError ? err.message : 'internal simulator error';
        sendJson(res, status, errorBody(status, message), err instanceof HttpError ? err.headers : {});
      }
    })();
  });
}

export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, gives open requests `graceMs`, then cuts what is left. */
export async function closeServer(server: Server, graceMs = 2000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/** Rejects a WebSocket upgrade with a plain HTTP response, as a proxy or Deepgram would. */
export function rejectUpgrade(
  socket: NodeJS.WritableStream & { destroy(): void },
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  const lines = [
    `HTTP/1.1 ${status} ${statusText(status)}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(payload)}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${payload}`);
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return texts[status] ?? 'Error';
}

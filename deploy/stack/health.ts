/** Health probes shared by the stack manager's components. Each throws when unhealthy. */
import net from 'node:net';

/** An HTTP GET that must answer 2xx (and, when given, contain `expect` in its body). */
export async function httpOk(url: string, expect?: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  if (expect !== undefined && !body.includes(expect)) {
    throw new Error(`GET ${url} answered without ${JSON.stringify(expect)}`);
  }
}

/**
 * Sends one line over TCP and expects a reply starting with `expect` (Redis: PING → +PONG).
 */
export function tcpExchange(host: string, port: number, send: string, expect: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${host}:${port}`)), 2000);
    let received = '';
    socket.on('connect', () => socket.write(send));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.length >= expect.length) {
        clearTimeout(timer);
        socket.end();
        if (received.startsWith(expect)) resolve();
        else reject(new Error(`${host}:${port} answered ${JSON.stringify(received.slice(0, 40))}`));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Whether something already listens on a TCP port (to report a port conflict clearly). */
export function tcpPortInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

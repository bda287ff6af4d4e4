/**
 * Ports for servers a test starts in child processes. A port the kernel hands out for
 * `listen(0)` comes from its ephemeral range, the same range every outgoing connection
 * takes its source port from, so between the probe and the child's own `listen` (seconds,
 * while the child loads) another connection can take it: EADDRINUSE. Ports below that
 * range are only ever taken by a server that asks for them.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const lowestPort = 20_000;

/** The start of the kernel's ephemeral range (Linux), or IANA's where it cannot be read. */
function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > lowestPort + 1000 ? start : 49_152;
  } catch {
    return 49_152;
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** `count` distinct ports on `host` that nothing listens on now and no outgoing connection will be given. */
export async function freeListenPorts(host: string, count: number): Promise<number[]> {
  const span = ephemeralStart() - lowestPort;
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries >= count * 50) throw new Error(`only ${ports.size} of ${count} free ports below the ephemeral range on ${host}`);
    const port = lowestPort + Math.floor(Math.random() * span);
    if (!ports.has(port) && (await canListen(port, host))) ports.add(port);
  }
  return [...ports];
}

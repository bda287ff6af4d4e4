/**
 * The RTP port range: each call binds one even port (RFC 3550 §11 leaves odd ports to
 * RTCP) on the gateway's host. Ports in use by other programs are skipped.
 */
import dgram from 'node:dgram';

export class RtpPortsExhaustedError extends Error {
  override readonly name = 'RtpPortsExhaustedError';
  readonly retryable = true;
  constructor() {
    super('No free RTP port in the configured range');
  }
}

export class RtpPortPool {
  private readonly inUse = new Set<number>();
  private next: number;

  constructor(
    readonly host: string,
    readonly startPort: number,
    readonly endPort: number,
  ) {
    this.next = startPort + (startPort % 2);
    if (this.next > endPort) throw new RangeError('RTP port range holds no even port');
  }

  /** Binds a socket on the next free even port, round-robin so a port rests between calls. */
  async bind(): Promise<dgram.Socket> {
    const count = Math.floor((this.endPort - this.startPort) / 2) + 1;
    for (let attempt = 0; attempt < count; attempt++) {
      const port = this.next;
      this.next = port + 2 > this.endPort ? this.startPort + (this.startPort % 2) : port + 2;
      if (this.inUse.has(port)) continue;
      const socket = await tryBind(this.host, port);
      if (!socket) continue;
      this.inUse.add(port);
      socket.once('close', () => this.inUse.delete(port));
      return socket;
    }
    throw new RtpPortsExhaustedError();
  }

  /** Proves the range is usable (health): binds and releases one port. */
  async probe(): Promise<void> {
    const socket = await this.bind();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  get activeCount(): number {
    return this.inUse.size;
  }
}

function tryBind(host: string, port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

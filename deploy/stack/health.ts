/** Health probes shared by the stack manager's components. Each throws when unhealthy. */
import net from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Connection } from '@temporalio/client';
import type { Config } from '../config.js';
import { callEventsStream } from '../../media/events/subjects.js';

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

/** A Temporal worker polled `taskQueue` for workflow tasks within the last minute. */
export async function temporalPollerSeen(config: Config, taskQueue: string): Promise<void> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 2000 });
  try {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    const recentS = Date.now() / 1000 - 60;
    const fresh = (res.pollers ?? []).some((p) => Number(p.lastAccessTime?.seconds ?? 0) > recentS);
    if (!fresh) throw new Error(`no worker polls task queue ${taskQueue}`);
  } finally {
    await connection.close();
  }
}

/** Some client is pulling from the durable JetStream consumer (pull requests waiting). */
export async function jetStreamConsumerPulling(config: Config, durable: string): Promise<void> {
  const nc = await connect({ servers: config.nats.url, timeout: 2000 });
  try {
    const info = await (await jetstreamManager(nc)).consumers.info(callEventsStream, durable);
    if (info.num_waiting === 0) throw new Error(`nobody is pulling from consumer ${durable}`);
  } finally {
    await nc.close();
  }
}

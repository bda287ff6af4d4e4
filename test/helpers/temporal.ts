/**
 * Temporal helpers for tests: connections to the stack's dev server and a worker on a
 * task queue of the test's own, running only while the test body runs.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { config, uniqueName } from './env.js';

// Tests provoke activity failures on purpose; only errors are worth printing.
Runtime.install({ logger: new DefaultLogger('ERROR') });

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the product's workflows once per test process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error },
  });
  return bundle;
}

export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return { client: new Client({ connection, namespace: config.temporal.namespace }), close: () => connection.close() };
}

/** Runs `body` while a worker with `activities` polls a fresh task queue. */
export async function withWorker<T>(activities: object, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const taskQueue = uniqueName('test');
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    return await worker.runUntil(body(taskQueue));
  } finally {
    await connection.close();
  }
}

/** The sink workflows' worker, in its own process as the orchestration worker is (run.ts). */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../deploy/config.js';

const config = loadConfig();
const connection = await NativeConnection.connect({ address: config.temporal.address });
const worker = await Worker.create({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: process.env.BRIDGE_BENCH_TASK_QUEUE!,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
});
console.log('polling');
await worker.run();

/** The stack manager's process control and readiness wait, with plain OS processes. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isAlive, readPid, startDetached, stopByPidFile } from '../../deploy/stack/process.js';
import { waitUntilHealthy } from '../../deploy/stack/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kickcall-stack-test-'));

test('a detached process is recorded, found again by its PID file, and stopped', async () => {
  const pidFile = path.join(dir, 'sleeper.pid');
  const logFile = path.join(dir, 'sleeper.log');
  const pid = await startDetached({ command: 'sh', args: ['-c', 'echo started; exec sleep 30'], logFile, pidFile });
  assert.equal(readPid(pidFile), pid);
  assert.ok(isAlive(pid));
  await waitUntilHealthy(() => (readFileSync(logFile, 'utf8').includes('started') ? Promise.resolve() : Promise.reject(new Error('not yet'))), { timeoutMs: 5000 });

  assert.equal(await stopByPidFile(pidFile, { graceMs: 2000 }), true);
  assert.equal(isAlive(pid), false);
  assert.equal(readPid(pidFile), undefined, 'the PID file is removed');
  assert.equal(await stopByPidFile(pidFile), false, 'stopping again is a no-op');
});

test('a process that ignores SIGTERM is killed after the grace period', async () => {
  const pidFile = path.join(dir, 'stubborn.pid');
  const logFile = path.join(dir, 'stubborn.log');
  const pid = await startDetached({ command: 'sh', args: ['-c', "trap '' TERM; echo ignoring; while true; do sleep 0.1; done"], logFile, pidFile });
  // Only once the trap is installed does the process really ignore SIGTERM.
  await waitUntilHealthy(() => (readFileSync(logFile, 'utf8').includes('ignoring') ? Promise.resolve() : Promise.reject(new Error('not yet'))), { timeoutMs: 5000, intervalMs: 20 });
  const t0 = Date.now();
  await stopByPidFile(pidFile, { graceMs: 300 });
  assert.equal(isAlive(pid), false);
  assert.ok(Date.now() - t0 >= 300, 'SIGKILL only after the grace period');
});

test('waiting for health fails fast, with the last failure as cause, when the process dies', async () => {
  const pidFile = path.join(dir, 'dies.pid');
  const pid = await startDetached({ command: 'sh', args: ['-c', 'exit 3'], logFile: path.join(dir, 'dies.log'), pidFile });
  const t0 = Date.now();
  await assert.rejects(
    waitUntilHealthy(() => Promise.reject(new Error('connection refused')), { timeoutMs: 10_000, isAlive: () => isAlive(pid) }),
    (err: Error) => err.message === 'process exited before it became healthy' && (err.cause as Error).message === 'connection refused',
  );
  assert.ok(Date.now() - t0 < 5000, 'did not wait for the full timeout');
});

test('waiting for health times out with the last failure', async () => {
  await assert.rejects(
    waitUntilHealthy(() => Promise.reject(new Error('still starting')), { timeoutMs: 300, intervalMs: 50 }),
    (err: Error) => /not healthy after 300 ms/.test(err.message) && (err.cause as Error).message === 'still starting',
  );
});

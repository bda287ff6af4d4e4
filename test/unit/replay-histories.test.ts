/**
 * Replays every saved workflow history (test/histories/, recorded from the call, campaign
 * and end-to-end tests) against the current workflow code. A change that would make a
 * running call or campaign take a different path on replay (a non-determinism error)
 * fails here, in CI, before it reaches a worker with live calls. Histories recorded by
 * older code stay, named for what came after them, so patched paths keep replaying.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { historiesDir } from '../helpers/histories.js';
import { workflowBundle } from '../helpers/temporal.js';

const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json')).sort();

test('there are saved histories to replay', () => {
  assert.ok(files.length >= 10, `expected the recorded scenarios in ${historiesDir}, found ${files.length}`);
});

for (const file of files) {
  test(`replays ${file} without a determinism break`, async () => {
    const saved = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as { workflowId: string; history: unknown };
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(saved.history), saved.workflowId);
  });
}

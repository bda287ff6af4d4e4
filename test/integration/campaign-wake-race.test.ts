/**
 * The SDK race (README, "Known SDK race") forced on purpose rather than waited for: the
 * worker holding a sleeping campaign dies during its claim, a query makes another worker
 * run the claim's completion, and a wake is signalled at once, so the same workflow task
 * takes the completion and the wake in two activations where replay takes them in one
 * (`bench/temporal-clock/wake.ts`). With the campaign's numbered wakes the commands are
 * the same either way. The probe's `flag` mode, how campaigns woke before, fails replay at
 * the first such split (bench/results/temporal-clock-wake.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runWakeProbe } from '../../bench/temporal-clock/wake.js';

test('a wake split from its workflow task by a query after a worker’s death: numbered wakes replay the same, and the workflow goes on', async () => {
  const run = await runWakeProbe(3, 'numbered');
  assert.ok(run.splits >= 1, `no wake was split from its task in ${run.passes} passes, so nothing was tested`);
  assert.equal(run.replayError, null);
  assert.equal(run.completed, true);
});

/**
 * Campaign chaos, the small version of `npm run chaos`: a load-mode campaign completes
 * while its orchestration workers are SIGKILLed in turn every few seconds and NATS restarts once,
 * with every contact accounted for once and no attempt placed twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultChaosOptions, runCampaignChaos } from '../../bench/campaign/chaos.js';

/** Enough contacts that the campaign outlives several kills; `npm run chaos` runs 10,000. */
const contacts = 40;

test('a campaign survives its workers killed every few seconds and a NATS restart: nothing lost, nothing dialled twice', async () => {
  const report = await runCampaignChaos(
    { ...defaultChaosOptions, contacts, killEveryMs: 8_000, natsRestartAt: 0.3, callsPerSecond: 10, maxConcurrentCalls: 20, timeoutMs: 9 * 60_000 },
    () => undefined,
  );
  assert.equal(report.result.status, 'completed');
  assert.ok(report.kills >= 2, `the worker was killed ${report.kills} times`);
  assert.ok(report.natsRestarted, 'NATS was restarted mid-campaign');
  assert.deepEqual(report.audit.problems, [], 'every contact accounted for once, attempts as the policy says');
  assert.equal(report.audit.contacts, contacts);
  assert.equal(report.result.contacts.done, contacts);
  assert.equal(report.result.dials, report.audit.calls, 'each attempt started once');
});

/**
 * Campaign chaos, the small version of `npm run chaos`: a load-mode campaign completes
 * while its orchestration workers are SIGKILLed in turn every few seconds, each kill followed
 * at once by a stats query, and NATS restarts once, with every contact accounted for once and
 * no attempt placed twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultChaosOptions, runCampaignChaos } from '../../bench/campaign/chaos.js';

/**
 * The pace sets a floor under the campaign's duration (60 first attempts at 2 calls/s take at
 * least 30 s), so three kills 5 s apart land mid-campaign however fast the machine is (at
 * 10 calls/s a quick machine finished 40 contacts between the first and second kill).
 * Killing on until the end made the run minutes long, as every kill stalls the calls and
 * tasks its worker held. `npm run chaos` runs 10,000 contacts and never stops killing.
 */
const contacts = 60;
const callsPerSecond = 2;
const maxKills = 3;

test('a campaign survives its workers killed every few seconds and a NATS restart: nothing lost, nothing dialled twice', async () => {
  const report = await runCampaignChaos(
    { ...defaultChaosOptions, contacts, killEveryMs: 5_000, natsRestartAt: 0.3, callsPerSecond, maxConcurrentCalls: 20, timeoutMs: 9 * 60_000, maxKills },
    () => undefined,
  );
  assert.equal(report.result.status, 'completed');
  assert.equal(report.kills, maxKills, 'the workers were killed while the campaign ran');
  // Each kill is followed at once by a stats query, which makes the SDK run the campaign on
  // a stale clock in split activations (workflows/campaign/clock.ts); before the history
  // clock, this run stopped on a nondeterminism error at its first kill.
  assert.ok(report.queriesAnswered >= 1, `the stats query was answered after a kill (${report.queriesAnswered} of ${report.kills})`);
  assert.ok(report.natsRestarted, 'NATS was restarted mid-campaign');
  assert.deepEqual(report.audit.problems, [], 'every contact accounted for once, attempts as the policy says');
  assert.equal(report.audit.contacts, contacts);
  assert.equal(report.result.contacts.done, contacts);
  assert.equal(report.result.dials, report.audit.calls, 'each attempt started once');
});

/**
 * Retention per tenant, against the real stack: a tenant sets it through the API; the
 * retention workflow removes the personal data of that tenant's calls older than it (the
 * call rows stay for reporting) and the contacts of its long-finished campaigns, and
 * touches nothing newer and nothing of tenants without retention. The daily schedule that
 * runs it exists once the orchestration worker has started.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client, ScheduleDescription } from '@temporalio/client';
import { createRetentionActivities } from '../../activities/retention.js';
import type { strandedAttemptsWorkflow } from '../../workflows/stranded-attempts.js';
import { ensureRetentionSchedule, ensureStrandedAttemptsSchedule, retentionScheduleId, strandedAttemptsScheduleId } from '../../workers/schedules.js';
import { retentionWorkflow } from '../../workflows/retention.js';
import { startApi, type ApiHarness } from '../helpers/api.js';
import { waitFor } from '../helpers/async.js';
import { config, uniqueName } from '../helpers/env.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

let temporal: Client;
let closeTemporal: () => Promise<void>;
let api: ApiHarness;
before(async () => {
  ({ client: temporal, close: closeTemporal } = await temporalClient());
  api = await startApi({ temporal });
});
after(async () => {
  await api.close();
  await closeTemporal();
});

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);

async function seedCall(tenantId: string, name: string, endedDaysAgo: number): Promise<string> {
  const id = `outbound_${tenantId}_direct_${name}_1`;
  await api.db.insertInto('calls').values({ id, tenant_id: tenantId, direction: 'outbound', status: 'completed', disposition: 'completed', callee_e164: '+14155550177', ended_at: daysAgo(endedDaysAgo), cost_usd: 0.01 }).execute();
  await api.db.insertInto('call_turns').values({ call_id: id, seq: 1, role: 'user', text: 'my account number is 1234', occurred_at: daysAgo(endedDaysAgo) }).execute();
  await api.db.insertInto('call_answers').values({ call_id: id, field: 'interest', value: 'yes', seq: 2 }).execute();
  await api.db.insertInto('call_analyses').values({ call_id: id, status: 'ok', model: 'gpt-4.1', attempts: 1, summary: 'Wants a callback', disposition: 'completed', sentiment: 'positive', goal_met: true, fields: '{}' }).execute();
  await api.db
    .insertInto('domain_events')
    .values({ id: `${id}:call.analyzed`, tenant_id: tenantId, type: 'call.analyzed', call_id: id, payload: JSON.stringify({ callId: id, status: 'ok', summary: 'Wants a callback', sentiment: 'positive' }), occurred_at: daysAgo(endedDaysAgo) })
    .execute();
  return id;
}

async function seedCampaign(tenantId: string, finishedDaysAgo: number | null): Promise<string> {
  const id = uniqueName('cmp');
  await api.db.insertInto('campaigns').values({ id, tenant_id: tenantId, name: 'c', status: finishedDaysAgo === null ? 'running' : 'completed', config: '{}', finished_at: finishedDaysAgo === null ? null : daysAgo(finishedDaysAgo) }).execute();
  await api.db.insertInto('contacts').values({ campaign_id: id, id: 'c1', tenant_id: tenantId, phone_e164: '+14155550178', time_zone: 'America/New_York', consent: true, fields: '{"name":"Ada"}', import_id: 'imp', source_row: 1 }).execute();
  return id;
}

test('retention removes one tenant’s expired personal data and nothing else', async () => {
  const a = await api.newTenant();
  const b = await api.newTenant();
  const set = await api.request('PATCH', '/v1/tenant', { key: a.keys.admin, body: { retentionDays: 30 } });
  assert.equal(set.status, 200, set.text);
  assert.equal((set.body as { retentionDays: number }).retentionDays, 30);
  assert.equal((await api.request('PATCH', '/v1/tenant', { key: a.keys.operator, body: { retentionDays: 1 } })).status, 403, 'admins only');
  assert.equal((await api.request('PATCH', '/v1/tenant', { key: a.keys.admin, body: { retentionDays: 0 } })).status, 400);

  const expired = await seedCall(a.tenantId, 'old', 40);
  const recent = await seedCall(a.tenantId, 'new', 5);
  const otherTenant = await seedCall(b.tenantId, 'ancient', 400);
  const finishedLongAgo = await seedCampaign(a.tenantId, 40);
  const running = await seedCampaign(a.tenantId, null);
  const otherCampaign = await seedCampaign(b.tenantId, 400);

  const report = await withWorker(createRetentionActivities({ db: api.db }), (taskQueue) =>
    temporal.workflow.execute(retentionWorkflow, { taskQueue, workflowId: uniqueName('retention') }),
  );
  assert.ok(report.callsPurged >= 1 && report.contactsDeleted >= 1, JSON.stringify(report));

  const state = async (callId: string) => ({
    number: (await api.db.selectFrom('calls').select('callee_e164').where('id', '=', callId).executeTakeFirstOrThrow()).callee_e164,
    turns: (await api.db.selectFrom('call_turns').select('seq').where('call_id', '=', callId).execute()).length,
    answers: (await api.db.selectFrom('call_answers').select('field').where('call_id', '=', callId).execute()).length,
    analyses: (await api.db.selectFrom('call_analyses').select('call_id').where('call_id', '=', callId).execute()).length,
    // The analysis went out as an event too (webhooks read it, and retry from it).
    eventSummary: ((await api.db.selectFrom('domain_events').select('payload').where('id', '=', `${callId}:call.analyzed`).executeTakeFirstOrThrow()).payload as { summary?: string }).summary ?? null,
  });
  assert.deepEqual(await state(expired), { number: null, turns: 0, answers: 0, analyses: 0, eventSummary: null });
  assert.deepEqual(await state(recent), { number: '+14155550177', turns: 1, answers: 1, analyses: 1, eventSummary: 'Wants a callback' });
  assert.deepEqual(await state(otherTenant), { number: '+14155550177', turns: 1, answers: 1, analyses: 1, eventSummary: 'Wants a callback' });
  const scrubbed = (await api.db.selectFrom('domain_events').select('payload').where('id', '=', `${expired}:call.analyzed`).executeTakeFirstOrThrow()).payload;
  assert.deepEqual(scrubbed, { callId: expired, status: 'ok', sentiment: 'positive', summaryErased: true });

  // The purged call is still there for reporting, with its outcome and cost.
  const call = await api.request('GET', `/v1/calls/${expired}`, { key: a.keys.viewer });
  assert.equal(call.status, 200);
  assert.deepEqual([(call.body as { disposition: string }).disposition, (call.body as { costUsd: number }).costUsd, (call.body as { turns: unknown[] }).turns.length], ['completed', 0.01, 0]);

  const contacts = async (campaignId: string) => (await api.db.selectFrom('contacts').select('id').where('campaign_id', '=', campaignId).execute()).length;
  assert.equal(await contacts(finishedLongAgo), 0);
  assert.equal(await contacts(running), 1);
  assert.equal(await contacts(otherCampaign), 1);

  // A second run finds nothing more to do for this tenant.
  const again = await createRetentionActivities({ db: api.db }).purgeExpiredRecords({ nowMs: Date.now() });
  assert.deepEqual(await state(recent), { number: '+14155550177', turns: 1, answers: 1, analyses: 1, eventSummary: 'Wants a callback' });
  assert.ok(again.tenants >= 1);
});

test('the daily retention schedule exists once, and starts the retention workflow', async () => {
  // The stack's orchestration worker made it at start-up; making it again changes nothing.
  assert.equal(await ensureRetentionSchedule(temporal, config.temporal.taskQueue), 'exists');
  // A schedule's own workflow may take a moment to answer after it is made.
  let described: ScheduleDescription | undefined;
  await waitFor(async () => (described = await temporal.schedule.getHandle(retentionScheduleId).describe().catch(() => undefined)) !== undefined, 15_000, 'the schedule did not describe');
  assert.ok(described);
  assert.equal(described.action.type === 'startWorkflow' ? described.action.workflowType : described.action.type, 'retentionWorkflow');
  assert.deepEqual(described.spec.calendars?.map((c) => [c.hour, c.minute]), [[[{ start: 3, end: 3, step: 1 }], [{ start: 17, end: 17, step: 1 }]]]);
});

test('the stranded-attempts sweep runs every 5 minutes on its own schedule, and a run completes', async () => {
  assert.equal(await ensureStrandedAttemptsSchedule(temporal, config.temporal.taskQueue), 'exists', 'made by the stack’s orchestration worker at start-up');
  const schedule = temporal.schedule.getHandle(strandedAttemptsScheduleId);
  let described: ScheduleDescription | undefined;
  await waitFor(async () => (described = await schedule.describe().catch(() => undefined)) !== undefined, 15_000, 'the schedule did not describe');
  assert.ok(described);
  assert.equal(described.action.type === 'startWorkflow' ? described.action.workflowType : described.action.type, 'strandedAttemptsWorkflow');
  assert.deepEqual(described.spec.intervals?.map((i) => i.every), [5 * 60_000]);
  const triggeredAtMs = Date.now() - 1_000;
  await schedule.trigger();
  const ran = async () => (await schedule.describe()).info.recentActions.find((a) => a.takenAt.getTime() >= triggeredAtMs);
  await waitFor(async () => (await ran()) !== undefined, 15_000, 'the triggered run did not start');
  const started = (await ran())?.action.workflow;
  assert.ok(started);
  const report = await temporal.workflow.getHandle<typeof strandedAttemptsWorkflow>(started.workflowId, started.firstExecutionRunId).result();
  assert.equal(typeof report.checked, 'number', 'the sweep ran to its report');
});

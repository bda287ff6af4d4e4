/**
 * The integrator API held to its own OpenAPI document, against the real stack with a
 * load-mode worker (the telephony simulator at the dial boundary), so the calls and
 * campaigns the API starts really run.
 *
 * 1. Contract: one journey through every operation of the served document; every answer,
 *    errors included, is validated with Ajv (JSON Schema 2020-12) against the document.
 *    The operations seen succeeding must be exactly the document's, so a route added
 *    without contract coverage fails here.
 * 2. Malformed requests: for every operation a batch of broken requests, generated from
 *    the document's own schemas (wrong JSON types, refused values, missing and unknown
 *    fields, bad JSON, oversized and mistyped bodies, odd query values and path segments,
 *    bad phone numbers, broken CSV). Each must be answered with a 4xx problem detail that
 *    names what is wrong: never a 5xx, never a hang. The server is healthy afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { pino } from 'pino';
import { planCall, type OutcomeDistribution } from '../../activities/telephony-simulator.js';
import { writeAgentNote } from '../../activities/call-records.js';
import { startWebhookRelay } from '../../workers/webhook-relay.js';
import { erasureHash } from '../../api/v1/erasures.js';
import { callWorkflowId, campaignWorkflowId, roomNameFor } from '../../workflows/ids.js';
import { startApi, type ApiHarness, type TestTenant } from '../helpers/api.js';
import { sleep, waitFor, withTimeout } from '../helpers/async.js';
import { loadModeWorker } from '../helpers/campaigns.js';
import { config, uniqueName } from '../helpers/env.js';
import { bodyMutations, ContractValidator, problemMediaType, problemTypeBase, type Answer, type JsonSchema, type OpenApiDocument, type Operation } from '../helpers/openapi.js';
import { temporalClient } from '../helpers/temporal.js';

/** Every simulated call is answered: transcripts to read and erase, no redials to wait for. */
const answeredOnly: OutcomeDistribution = { answered: 1, voicemail: 0, busy: 0, no_answer: 0, rejected: 0, failed: 0, opted_out: 0 };
const simulatorSeed = 'api-contract';
/** Simulated time at a tenth: a call lasts a second or a few, long enough to hang one up mid-conversation. */
const timeScale = 0.1;
/** Seeds the binary garbage of the CSV cases, so a failure reproduces. */
const fuzzSeed = 0x6b6b_c0de;

let temporal: Client;
let closeTemporal: (() => Promise<void>) | undefined;
let worker: Awaited<ReturnType<typeof loadModeWorker>> | undefined;
let workerRun: Promise<void> | undefined;
let api: ApiHarness;
let doc: OpenApiDocument;

before(async () => {
  ({ client: temporal, close: closeTemporal } = await temporalClient());
  worker = await loadModeWorker({ seed: simulatorSeed, timeScale, distribution: answeredOnly });
  workerRun = worker.worker.run();
  // Surfaced in `after`; caught here so a worker failure is not an unhandled rejection first.
  workerRun.catch(() => undefined);
  api = await startApi({ temporal, taskQueue: worker.taskQueue, webhookAllowPrivateUrls: true });
  doc = (await send('GET', '/v1/openapi.json')).body as OpenApiDocument;
});
after(async () => {
  await api?.close();
  worker?.worker.shutdown();
  await workerRun;
  await worker?.close();
  await closeTemporal?.();
});

interface Reply extends Answer {
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the answer says JSON and parses, else the text. */
  body: unknown;
}

interface SendOptions {
  key?: string;
  json?: unknown;
  /** Sent as is; no Content-Type header when `contentType` is absent. */
  raw?: { contentType?: string; data: string | Buffer };
  headers?: Record<string, string>;
}

/** Longer than any answer takes; past it a request counts as a hang. */
const answerTimeoutMs = 10_000;

/**
 * One request on a connection of its own (a broken request cannot spoil the next), sent
 * exactly as given (`../` stays in the path), answered within a deadline or rejected.
 */
function send(method: string, path: string, o: SendOptions = {}): Promise<Reply> {
  const { hostname, port } = new URL(api.url);
  const headers: Record<string, string> = { ...o.headers };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  let data: Buffer | undefined;
  if (o.raw) {
    if (o.raw.contentType !== undefined) headers['content-type'] = o.raw.contentType;
    data = Buffer.from(o.raw.data);
  } else if (o.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    data = Buffer.from(JSON.stringify(o.json));
  }
  // Without a length Node sends a DELETE's body unframed, and the server reads it as a second request.
  if (data) headers['content-length'] = String(data.length);
  return new Promise<Reply>((resolve, reject) => {
    let answered = false;
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = res.headers['content-type'] ?? '';
        let body: unknown = text;
        try {
          if (/json/.test(contentType) && text) body = JSON.parse(text) as unknown;
        } catch {
          // Left as text; the contract check says what is wrong with it.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType, text, body });
      });
    });
    function fail(err: Error) {
      clearTimeout(timer);
      reject(err);
    }
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${answerTimeoutMs} ms`)), answerTimeoutMs);
    // The server may answer (413) and close before it has read everything sent.
    req.on('error', (err) => {
      if (!answered) fail(err);
    });
    req.end(data);
  });
}

// ---------------------------------------------------------------------------------------
// 1. Contract
// ---------------------------------------------------------------------------------------

describe('contract', () => {
  test('the document: every operation has an ID and a role, and every error answer declares a problem body', () => {
    const contract = new ContractValidator(doc);
    assert.ok(contract.operations.length >= 30, `${contract.operations.length} operations`);
    assert.ok(doc.components.schemas.Problem, 'components.schemas.Problem');
    const ids = contract.operations.map((op) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operation IDs are unique');
    const gaps: string[] = [];
    for (const op of contract.operations) {
      if (!['viewer', 'operator', 'admin'].includes(op['x-kickcall-role'])) gaps.push(`${op.operationId}: x-kickcall-role ${op['x-kickcall-role']}`);
      for (const [status, r] of Object.entries(op.responses)) {
        const schema = r.content?.[problemMediaType]?.schema;
        if (Number(status) >= 400 && schema?.$ref !== '#/components/schemas/Problem') gaps.push(`${op.operationId} ${status}: no ${problemMediaType} body declared`);
      }
    }
    assert.deepEqual(gaps, [], `error answers the document does not describe:\n${gaps.join('\n')}`);
  });

  test('one journey through every operation: each answer is one the document declares', async () => {
    const contract = new ContractValidator(doc);
    const violations: string[] = [];
    const t = await api.newTenant();
    /** Sends with the least role the document asks, holds the answer to the document, expects `status`. */
    const call = async (method: string, path: string, status: number, o: Omit<SendOptions, 'key'> = {}): Promise<Reply> => {
      const op = contract.operationFor(method, path);
      const r = await send(method, path, { ...o, key: t.keys[op?.['x-kickcall-role'] ?? 'admin'] });
      for (const v of contract.check(method, path, r)) violations.push(`${op?.operationId ?? '?'} ${method} ${path} → ${r.status}: ${v}`);
      assert.equal(r.status, status, `${method} ${path}: ${r.text.slice(0, 600)}`);
      return r;
    };
    const untilRunning = (campaignId: string) =>
      waitFor(async () => ((await call('GET', `/v1/campaigns/${campaignId}`, 200)).body as { status: string }).status !== 'draft', 30_000, `campaign ${campaignId} never left draft`);
    const hooks = await webhookReceiver();
    const relay = startWebhookRelay({ db: api.db, client: temporal, taskQueue: worker!.taskQueue, log: pino({ level: 'silent' }), intervalMs: 200, tenantIds: [t.tenantId] });
    try {
      // The tenant.
      assert.equal(((await call('GET', '/v1/tenant', 200)).body as { id: string }).id, t.tenantId);
      assert.equal(((await call('PATCH', '/v1/tenant', 200, { json: { retentionDays: 365 } })).body as { retentionDays: number }).retentionDays, 365);

      // A webhook endpoint first, so the calls below are delivered to it.
      const hook = await call('POST', '/v1/webhook-endpoints', 201, { json: { url: hooks.url, eventTypes: ['call.ended', 'campaign.completed'], description: 'contract test' } });
      const endpointId = (hook.body as { id: string }).id;
      assert.match((hook.body as { secret: string }).secret, /^whsec_/);
      await call('GET', '/v1/webhook-endpoints', 200);
      await call('GET', `/v1/webhook-endpoints/${endpointId}`, 200);
      const patched = await call('PATCH', `/v1/webhook-endpoints/${endpointId}`, 200, { json: { description: 'renamed', eventTypes: ['call.ended', 'call.analyzed', 'campaign.completed'] } });
      assert.equal((patched.body as { description: string }).description, 'renamed');

      // Trunk and agents.
      await call('POST', '/v1/trunks', 201, { json: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 20, maxChannels: 20 } });
      await call('GET', '/v1/trunks', 200);
      await call('GET', '/v1/trunks/main', 200);
      const settings = { instructions: 'Ask whether they want a demo.', greeting: 'Hello from Kickcall!', voice: 'aura-2-andromeda-en', tools: ['end_call', 'record_answer'] };
      await call('POST', '/v1/agents', 201, { json: { id: 'sales', name: 'Sales', settings } });
      await call('GET', '/v1/agents/sales', 200);
      await call('GET', '/v1/agents', 200);
      assert.equal(((await call('PATCH', '/v1/agents/sales', 200, { json: { name: 'Sales team' } })).body as { name: string }).name, 'Sales team');
      await call('POST', '/v1/agents', 201, { json: { id: 'spare', name: 'Spare', settings } });
      await call('DELETE', '/v1/agents/spare', 204);
      await call('GET', '/v1/agents/spare', 404);

      // A campaign, run to completion with a pause on the way.
      const campaignConfig = {
        agent: settings,
        trunkId: 'main',
        callsPerSecond: 5,
        maxConcurrentCalls: 2,
        // The default window may be closed at this hour in the contacts' zones.
        window: { start: '00:00', end: '23:59' },
        analysis: { goal: 'Book a demo', fields: { interested: { type: 'boolean', description: 'Wants a demo' } } },
      };
      const created = await call('POST', '/v1/campaigns', 201, { json: { name: 'Contract', config: campaignConfig } });
      const campaignId = (created.body as { id: string }).id;
      await call('GET', `/v1/campaigns/${campaignId}`, 200);
      await call('GET', '/v1/campaigns?limit=10', 200);
      await call('GET', `/v1/campaigns/${campaignId}/stats`, 409);
      await call('POST', `/v1/campaigns/${campaignId}/pause`, 409, { json: {} });
      const rows = [
        ['+14155550101', 'America/New_York', 'yes', 'Ada'],
        ['+1', 'America/New_York', 'yes', 'Bad phone'],
        ['+14155550102', 'America/Chicago', 'yes', 'Grace'],
        ['+14155550103', 'America/Denver', 'yes', 'Alan'],
        ['+14155550104', 'America/Los_Angeles', 'maybe', 'Bad consent'],
        ['+14155550105', 'America/New_York', 'yes', 'Barbara'],
      ];
      const csv = ['phone,time_zone,consent,first_name', ...rows.map((r) => r.join(','))].join('\n');
      const upload = await call('POST', `/v1/campaigns/${campaignId}/contacts`, 201, { raw: { contentType: 'text/csv', data: csv } });
      const report = upload.body as { importId: string; rows: number; imported: number; duplicates: unknown[]; invalid: { row: number; field: string; reason: string }[] };
      assert.deepEqual({ rows: report.rows, imported: report.imported, duplicates: report.duplicates }, { rows: 6, imported: 4, duplicates: [] });
      assert.deepEqual(report.invalid.map((i) => [i.row, i.field]), [[2, 'phone'], [5, 'consent']]);
      assert.ok(report.invalid.every((i) => i.reason.length > 0 && !i.reason.includes('+1')), 'a reason for each row, never the value');

      assert.equal(((await call('POST', `/v1/campaigns/${campaignId}/start`, 202, { json: {} })).body as { status: string }).status, 'running');
      await call('POST', `/v1/campaigns/${campaignId}/start`, 409, { json: {} });
      // Control and stats read the campaign's row, which says running once the workflow has opened it (see the test below).
      await untilRunning(campaignId);
      await call('GET', `/v1/campaigns/${campaignId}/stats`, 200);
      assert.equal(((await call('POST', `/v1/campaigns/${campaignId}/pause`, 200, { json: {} })).body as { status: string }).status, 'paused');
      await call('POST', `/v1/campaigns/${campaignId}/pause`, 409, { json: {} });
      assert.equal(((await call('POST', `/v1/campaigns/${campaignId}/resume`, 200, { json: {} })).body as { status: string }).status, 'running');
      await waitFor(async () => ((await call('GET', `/v1/campaigns/${campaignId}`, 200)).body as { status: string }).status === 'completed', 90_000, 'the campaign never completed');
      const stats = (await call('GET', `/v1/campaigns/${campaignId}/stats`, 200)).body as { status: string; contacts?: { total: number; done: number } };
      assert.equal(stats.status, 'completed');
      assert.deepEqual([stats.contacts?.total, stats.contacts?.done], [4, 4]);
      await call('GET', '/v1/campaigns?status=completed', 200);
      const costs = (await call('GET', `/v1/analytics/costs?campaignId=${campaignId}`, 200)).body as { calls: number; answeredCalls: number };
      assert.deepEqual([costs.calls, costs.answeredCalls], [4, 4]);
      await call('GET', `/v1/analytics/latency?campaignId=${campaignId}&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`, 200);
      await call('POST', `/v1/campaigns/${campaignId}/contacts`, 409, { raw: { contentType: 'text/csv', data: 'phone\n+14155550106\n' } });

      // Its calls, a page at a time.
      const first = (await call('GET', `/v1/calls?campaignId=${campaignId}&limit=2`, 200)).body as { items: { id: string }[]; nextCursor: string | null };
      assert.equal(first.items.length, 2);
      assert.ok(first.nextCursor);
      const second = (await call('GET', `/v1/calls?campaignId=${campaignId}&limit=2&cursor=${first.nextCursor}`, 200)).body as { items: { id: string }[]; nextCursor: string | null };
      assert.equal(second.items.length, 2);
      assert.equal(second.nextCursor, null);
      // Row 1's contact ID is the import's, so its call ID is known: its number is erased below.
      const adaCallId = callWorkflowId({ tenantId: t.tenantId, campaignId, contactId: `${report.importId.slice(4)}-r1`, attempt: 1 });
      assert.ok([...first.items, ...second.items].some((c) => c.id === adaCallId), `${adaCallId} is among the campaign's calls`);
      const adaCall = (await call('GET', `/v1/calls/${adaCallId}`, 200)).body as { disposition: string; turns: unknown[]; analysis: unknown };
      assert.equal(adaCall.disposition, 'completed');
      const adaTurns = ((await call('GET', `/v1/calls/${adaCallId}/transcript`, 200)).body as { turns: unknown[] }).turns.length;
      assert.ok(adaTurns > 0, 'an answered call has a transcript');
      await call('POST', `/v1/calls/${adaCallId}/hangup`, 409, { json: { reason: 'too late' } });

      // A second campaign, paused so it cannot finish first, then cancelled.
      const doomed = (await call('POST', '/v1/campaigns', 201, { json: { name: 'Doomed', config: campaignConfig } })).body as { id: string };
      const doomedCsv = ['phone,time_zone,consent', '+14155550201,America/New_York,yes', '+14155550202,America/New_York,yes', '+14155550203,America/New_York,yes'].join('\n');
      await call('POST', `/v1/campaigns/${doomed.id}/contacts`, 201, { raw: { contentType: 'text/csv', data: doomedCsv } });
      await call('POST', `/v1/campaigns/${doomed.id}/start`, 202, { json: {} });
      await untilRunning(doomed.id);
      await call('POST', `/v1/campaigns/${doomed.id}/pause`, 200, { json: {} });
      await call('POST', `/v1/campaigns/${doomed.id}/cancel`, 400, { json: { reason: ' ' } });
      await call('POST', `/v1/campaigns/${doomed.id}/cancel`, 200, { json: { reason: 'Wrong list' } });

      // A call on its own, run to its end; a hang-up then is refused.
      const direct = { to: '+14155550142', trunkId: 'main', agentId: 'sales', contact: { timeZone: 'America/New_York', consent: true, reference: 'direct-1' }, window: { start: '00:00', end: '23:59' } };
      const directId = ((await call('POST', '/v1/calls', 201, { json: direct })).body as { id: string }).id;
      await withTimeout(temporal.workflow.getHandle(directId).result(), 60_000, 'the direct call never ended');
      assert.equal(((await call('GET', `/v1/calls/${directId}`, 200)).body as { status: string }).status, 'ended');
      await call('POST', `/v1/calls/${directId}/hangup`, 409, { json: { reason: 'too late' } });
      // The same contact reference again names the same call.
      await call('POST', '/v1/calls', 409, { json: direct });
      // A reference that is the callee's number would name the call by it: refused, naming the field.
      const byNumber = (await call('POST', '/v1/calls', 400, { json: { ...direct, contact: { ...direct.contact, reference: '4155550142' } } })).body as { errors?: { path: string }[] };
      assert.deepEqual(byNumber.errors?.map((e) => e.path), ['body.contact.reference']);

      // Live calls hung up: one waiting for its window (deterministic), one mid-conversation.
      const waiting = { ...direct, to: '+14155550143', contact: { ...direct.contact, timeZone: 'UTC', reference: 'waiting-1' }, window: { days: [isoWeekdayInDays(2)], start: '00:00', end: '23:59' } };
      const waitingId = ((await call('POST', '/v1/calls', 201, { json: waiting })).body as { id: string }).id;
      assert.deepEqual((await call('POST', `/v1/calls/${waitingId}/hangup`, 202, { json: { reason: 'changed plans' } })).body, { id: waitingId, accepted: true });
      await withTimeout(temporal.workflow.getHandle(waitingId).result(), 30_000, 'the waiting call never ended');
      assert.equal(((await call('GET', `/v1/calls/${waitingId}`, 200)).body as { disposition: string }).disposition, 'cancelled');

      const reference = longConversationReference(t.tenantId);
      const liveId = ((await call('POST', '/v1/calls', 201, { json: { ...direct, to: '+14155550144', contact: { ...direct.contact, reference } } })).body as { id: string }).id;
      await waitFor(async () => {
        const r = await send('GET', `/v1/calls/${liveId}`, { key: t.keys.viewer });
        return r.status === 200 && (r.body as { status: string }).status === 'in_progress';
      }, 30_000, 'the live call was never answered');
      await call('POST', `/v1/calls/${liveId}/hangup`, 202, { json: { reason: 'operator ended it' } });
      await withTimeout(temporal.workflow.getHandle(liveId).result(), 30_000, 'the hung-up call never ended');
      const live = (await call('GET', `/v1/calls/${liveId}`, 200)).body as { endReason: string; answeredAt: string | null };
      assert.equal(live.endReason, 'operator ended it');
      assert.ok(live.answeredAt, 'it was hung up after the answer');

      // Do-not-call, with an idempotent repeat.
      const dnc = { json: { phone: '+14155550199', source: 'contract' }, headers: { 'idempotency-key': 'dnc-1' } };
      await call('POST', '/v1/do-not-call', 201, dnc);
      assert.equal((await call('POST', '/v1/do-not-call', 201, dnc)).headers['idempotent-replayed'], 'true');
      assert.ok(((await call('GET', '/v1/do-not-call?limit=10', 200)).body as { items: { phone: string }[] }).items.some((e) => e.phone === '+14155550199'));
      await call('DELETE', '/v1/do-not-call', 204, { json: { phone: '+14155550199' } });
      await call('DELETE', '/v1/do-not-call', 404, { json: { phone: '+14155550199' } });

      // API keys.
      const key = (await call('POST', '/v1/api-keys', 201, { json: { name: 'ci', role: 'viewer' } })).body as { id: string };
      await call('GET', '/v1/api-keys', 200);
      assert.equal(((await call('GET', '/v1/api-keys/current', 200)).body as { role: string }).role, 'viewer', 'a key reads itself with the least role');
      assert.ok(((await call('DELETE', `/v1/api-keys/${key.id}`, 200)).body as { revokedAt: string | null }).revokedAt);

      // The webhook endpoint's delivery log, a rotated secret, and its removal.
      await waitFor(async () => ((await call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=50`, 200)).body as { items: unknown[] }).items.length > 0, 60_000, 'no delivery was logged');
      assert.ok(((await call('POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, 200, { json: { graceS: 60 } })).body as { previousSecretExpiresAt: string | null }).previousSecretExpiresAt);
      await call('DELETE', `/v1/webhook-endpoints/${endpointId}`, 204);
      await call('GET', `/v1/webhook-endpoints/${endpointId}`, 404);

      // The audit log, two pages.
      const audit = (await call('GET', '/v1/audit-log?limit=5', 200)).body as { items: unknown[]; nextBefore: string | null };
      assert.equal(audit.items.length, 5);
      await call('GET', `/v1/audit-log?limit=5&before=${audit.nextBefore}`, 200);

      // An agent's note on the call, as the bridge writes one, is shown with the call.
      await writeAgentNote(api.db, { callId: adaCallId, seq: 999, tool: 'transfer_to_human', note: 'Ada wants to discuss her late payment' });
      const noted = (await call('GET', `/v1/calls/${adaCallId}`, 200)).body as { agentNotes: unknown[] };
      assert.deepEqual(noted.agentNotes, [{ tool: 'transfer_to_human', note: 'Ada wants to discuss her late payment' }]);

      // Erasure of one campaign number: its transcript, analysis and notes go, the call stays.
      const erased = (await call('POST', '/v1/erasures', 201, { json: { phone: '+14155550101' } })).body as { id: string; counts: Record<string, number> };
      // The record names the number only by a hash keyed outside the database.
      const record = await api.db.selectFrom('erasures').selectAll().where('id', '=', erased.id).executeTakeFirstOrThrow();
      assert.equal(record.phone_hmac, erasureHash(config.api.erasureKey!, record.tenant_id, '+14155550101'));
      assert.ok(!JSON.stringify(record).includes(createHash('sha256').update(`${record.tenant_id}:+14155550101`).digest('hex')), 'no unkeyed hash of the number');
      assert.ok(!JSON.stringify(record).includes('4155550101'), 'nor the number');
      assert.deepEqual(erased.counts, { calls: 1, turns: adaTurns, analyses: adaCall.analysis ? 1 : 0, answers: 0, callbacks: 0, agentNotes: 1, contacts: 1 });
      assert.deepEqual(((await call('GET', `/v1/calls/${adaCallId}/transcript`, 200)).body as { turns: unknown[] }).turns, []);
      const erasedCall = (await call('GET', `/v1/calls/${adaCallId}`, 200)).body as { turns: unknown[]; analysis: unknown; agentNotes: unknown[] };
      assert.deepEqual([erasedCall.turns, erasedCall.analysis, erasedCall.agentNotes], [[], null, []]);
      // Nor does the summary survive in the event webhooks are sent (and retried) from.
      const events = await api.db.selectFrom('domain_events').select('payload').where('call_id', '=', adaCallId).where('type', '=', 'call.analyzed').execute();
      for (const e of events) assert.equal((e.payload as { summary?: string }).summary, undefined);
    } finally {
      await relay.stop();
      await hooks.close();
    }

    const missing = contract.operations.map((op) => op.operationId).filter((id) => !contract.succeeded().has(id));
    assert.deepEqual(missing, [], 'every operation in the document succeeded at least once in the journey');
    if (violations.length > 0) assert.fail(`answers that break the contract:\n${violations.join('\n')}`);
  });
});

describe('campaign control', () => {
  test('a campaign whose start was accepted (202) can at once be read and paused', async () => {
    const t = await api.newTenant();
    const as = (role: 'admin' | 'operator') => ({ key: t.keys[role] });
    assert.equal((await send('POST', '/v1/trunks', { ...as('admin'), json: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 } })).status, 201);
    const config = { agent: { instructions: 'x', greeting: 'y' }, trunkId: 'main', callsPerSecond: 1, maxConcurrentCalls: 1, window: { start: '00:00', end: '23:59' } };
    const { id } = (await send('POST', '/v1/campaigns', { ...as('operator'), json: { name: 'Quick', config } })).body as { id: string };
    const csv = 'phone,time_zone,consent\n+14155550301,America/New_York,yes\n+14155550302,America/New_York,yes\n';
    assert.equal((await send('POST', `/v1/campaigns/${id}/contacts`, { ...as('operator'), raw: { contentType: 'text/csv', data: csv } })).status, 201);
    assert.equal((await send('POST', `/v1/campaigns/${id}/start`, { ...as('operator'), json: {} })).status, 202);
    // What an integrator does next: look at it, or change their mind.
    const stats = await send('GET', `/v1/campaigns/${id}/stats`, as('operator'));
    const pause = await send('POST', `/v1/campaigns/${id}/pause`, { ...as('operator'), json: {} });
    // Stop it either way, once its row has caught up.
    await waitFor(async () => ((await send('GET', `/v1/campaigns/${id}`, as('operator'))).body as { status: string }).status !== 'draft', 30_000, 'the campaign never left draft');
    await send('POST', `/v1/campaigns/${id}/cancel`, { ...as('operator'), json: { reason: 'test over' } });
    assert.deepEqual(
      { stats: stats.status, pause: pause.status },
      { stats: 200, pause: 200 },
      `right after a 202 start: stats ${stats.status} ${stats.text}; pause ${pause.status} ${pause.text}`,
    );
  });
});

describe('campaign statistics', () => {
  /** A trunk, a campaign of `csv`'s contacts, started through the API; returns its ID. */
  async function startUnattendedCampaign(api: ApiHarness, key: string, name: string, csv: string): Promise<string> {
    assert.equal((await api.request('POST', '/v1/trunks', { key, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 } })).status, 201);
    const config = { agent: { instructions: 'x', greeting: 'y' }, trunkId: 'main', callsPerSecond: 2, maxConcurrentCalls: 1, window: { start: '00:00', end: '23:59' } };
    const { id } = (await api.request('POST', '/v1/campaigns', { key, body: { name, config } })).body as { id: string };
    assert.equal((await api.request('POST', `/v1/campaigns/${id}/contacts`, { key, raw: { contentType: 'text/csv', data: csv } })).status, 201);
    assert.equal((await api.request('POST', `/v1/campaigns/${id}/start`, { key, body: {} })).status, 202);
    return id;
  }

  test('a running campaign\'s statistics are what it recorded, answered with no worker to query (a query then can stall a campaign)', async () => {
    // An API whose campaigns start on a task queue no worker polls: a workflow query there
    // would wait for a worker that never comes.
    const idle = await startApi({ temporal, taskQueue: uniqueName('idle') });
    const t = await idle.newTenant();
    const key = t.keys.admin;
    try {
      const id = await startUnattendedCampaign(idle, key, 'Unattended', 'phone,time_zone,consent\n+14155550401,America/New_York,yes\n+14155550402,America/Chicago,yes\n+14155550403,Europe/Paris,yes\n');
      try {
        const reply = await withTimeout(idle.request('GET', `/v1/campaigns/${id}/stats`, { key }), 10_000, 'the statistics waited for a worker');
        assert.equal(reply.status, 200, reply.text);
        const stats = reply.body as { status: string; contacts: { total: number; pending: number; done: number }; dials: number; inFlight: number; costUsd: number; callsPerSecondConfigured: number };
        assert.deepEqual(
          { status: stats.status, total: stats.contacts.total, pending: stats.contacts.pending, done: stats.contacts.done, dials: stats.dials, inFlight: stats.inFlight, costUsd: stats.costUsd, cps: stats.callsPerSecondConfigured },
          { status: 'running', total: 3, pending: 3, done: 0, dials: 0, inFlight: 0, costUsd: 0, cps: 2 },
        );
      } finally {
        await temporal.workflow.getHandle(campaignWorkflowId(t.tenantId, id)).terminate('test over');
      }
    } finally {
      await idle.close();
    }
  });

  test('a campaign\'s achieved pace leaves out the time it spent paused', async () => {
    const idle = await startApi({ temporal, taskQueue: uniqueName('idle') });
    const t = await idle.newTenant();
    const key = t.keys.admin;
    try {
      const id = await startUnattendedCampaign(idle, key, 'Paused at lunch', 'phone\n+14155550401\n');
      try {
        // What the campaign recorded: 11 dials a second apart with an hour's pause after the
        // third, and a pause still open after the last (outside the span, so not counted).
        const t0 = Date.parse('2026-11-27T10:00:00Z');
        const at = (i: number) => new Date(t0 + i * 1000 + (i > 2 ? 3_600_000 : 0));
        await idle.db
          .insertInto('calls')
          .values(Array.from({ length: 11 }, (_, i) => ({ id: `${id}-call-${i}`, tenant_id: t.tenantId, campaign_id: id, direction: 'outbound' as const, status: 'ended', created_at: at(i) })))
          .execute();
        await idle.db
          .insertInto('campaign_pauses')
          .values([
            { campaign_id: id, paused_at: new Date(t0 + 2500), ended_at: new Date(t0 + 2500 + 3_600_000) },
            { campaign_id: id, paused_at: new Date(t0 + 3_611_000), ended_at: null },
          ])
          .execute();
        const reply = await idle.request('GET', `/v1/campaigns/${id}/stats`, { key });
        assert.equal(reply.status, 200, reply.text);
        const stats = reply.body as { dials: number; callsPerSecondAchieved: number };
        assert.equal(stats.dials, 11);
        assert.equal(stats.callsPerSecondAchieved, 1, '10 intervals over 10 s of dialling, not over an hour and 10 s');
      } finally {
        await temporal.workflow.getHandle(campaignWorkflowId(t.tenantId, id)).terminate('test over');
      }
    } finally {
      await idle.close();
    }
  });
});

/** The ISO weekday (1 = Monday) `days` from today, in UTC. */
function isoWeekdayInDays(days: number): number {
  const today = ((new Date().getUTCDay() + 6) % 7) + 1;
  return ((today - 1 + days) % 7) + 1;
}

/**
 * A contact reference whose simulated call (the plan is a function of the seed and the
 * room, which the call ID names) rings briefly and then talks for long: it can be hung
 * up mid-conversation without racing its natural end.
 */
function longConversationReference(tenantId: string): string {
  for (let i = 0; i < 100_000; i++) {
    const reference = `live-${i}`;
    const plan = planCall(simulatorSeed, roomNameFor(callWorkflowId({ tenantId, contactId: reference, attempt: 1 })), answeredOnly);
    if (plan.ringMs <= 4_000 && plan.turns === 7 && plan.turnGapMs >= 5_000) return reference;
  }
  throw new Error('no contact reference plans a long conversation');
}

/** An integrator's webhook receiver that accepts everything. */
async function webhookReceiver() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, config.host, resolve));
  return {
    url: `http://${config.host}:${(server.address() as AddressInfo).port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------
// 2. Malformed requests
// ---------------------------------------------------------------------------------------

/** What a malformed request must be answered with. */
interface Expectation {
  /** This exact status; any 4xx when absent. */
  status?: number;
  /** What a 400's detail must name. */
  mentions?: string | RegExp;
  /** Odd but allowed: a success is fine, a server error never. */
  allowSuccess?: boolean;
  /** What is wrong with a success, if anything. */
  checkSuccess?: (r: Reply) => string | undefined;
}

interface Case {
  category: string;
  operationId: string;
  label: string;
  method: string;
  path: string;
  send: SendOptions;
  expect: Expectation;
}

interface Failure {
  category: string;
  label: string;
  reason: string;
}

/** An answer to a probe that the document does not describe. */
interface Violation {
  operationId: string;
  problem: string;
}

/** Resources of a tenant every probe can name, and a valid request per operation to break. */
interface Fixture {
  tenant: TestTenant;
  ids: Record<string, string>;
}

const phoneFields: Record<string, string[]> = {
  startCall: ['to', 'callerId'],
  createTrunk: ['numbers.0'],
  createCampaign: ['config.callerId'],
  addDoNotCall: ['phone'],
  removeDoNotCall: ['phone'],
  eraseNumber: ['phone'],
};

/** A valid body per operation; a JSON-body operation missing here fails the coverage test. */
function validBody(operationId: string): Record<string, unknown> | undefined {
  const agent = { instructions: 'Be brief.', greeting: 'Hi' };
  const bodies: Record<string, Record<string, unknown>> = {
    // No consent: a request that slips through is blocked at the compliance gate, never dialled.
    startCall: { to: '+14155550123', trunkId: 'main', agentId: 'sales', contact: { timeZone: 'America/New_York', consent: false, reference: 'fuzz' }, window: { start: '00:00', end: '23:59' } },
    hangUpCall: { reason: 'fuzz' },
    createCampaign: { name: 'Fuzz', config: { agent, trunkId: 'main', callsPerSecond: 1, maxConcurrentCalls: 1 } },
    startCampaign: {},
    pauseCampaign: {},
    resumeCampaign: {},
    cancelCampaign: { reason: 'fuzz' },
    createAgent: { id: 'fuzz-agent', name: 'Fuzz', settings: agent },
    updateAgent: { name: 'Fuzz' },
    createTrunk: { id: 'fuzz-trunk', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 },
    addDoNotCall: { phone: '+14155550111' },
    removeDoNotCall: { phone: '+14155550111' },
    createWebhookEndpoint: { url: 'https://hooks.example.com/kickcall', eventTypes: ['call.ended'] },
    updateWebhookEndpoint: { description: 'fuzz' },
    rotateWebhookSecret: { graceS: 60 },
    createApiKey: { name: 'fuzz', role: 'viewer' },
    updateTenant: { retentionDays: 30 },
    eraseNumber: { phone: '+14155550111' },
  };
  return bodies[operationId];
}

const csvOk = 'phone,time_zone,consent\n+14155550177,America/New_York,yes\n';

/** mulberry32: a small seeded generator, so generated cases are the same every run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const jsonSchemaOf = (op: Operation): JsonSchema | undefined => op.requestBody?.content['application/json']?.schema;
const isCsv = (op: Operation) => Boolean(op.requestBody?.content['text/csv']);
const paramsIn = (op: Operation, where: 'path' | 'query') => (op.parameters ?? []).filter((p) => p.in === where);

/** The operation's path with its parameters filled from the fixture, one of them replaced by `override`. */
function pathOf(op: Operation, fx: Fixture, override?: { name: string; raw: string }): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => (override?.name === name ? override.raw : (fx.ids[name] ?? `no-fixture-for-${name}`)));
}

/** A request to `op` that is valid but for what the case changes. */
function baseRequest(op: Operation): SendOptions {
  if (isCsv(op)) return { raw: { contentType: 'text/csv', data: csvOk } };
  const body = validBody(op.operationId);
  return jsonSchemaOf(op) && body ? { json: body } : {};
}

function bodyCases(op: Operation, fx: Fixture): Case[] {
  const schema = jsonSchemaOf(op);
  if (!schema) return [];
  const path = pathOf(op, fx);
  const make = (category: string, label: string, sendOpts: SendOptions, expect: Expectation): Case => ({ category, operationId: op.operationId, label: `${op.operationId}: ${label}`, method: op.method, path, send: sendOpts, expect });
  const valid = validBody(op.operationId);
  if (!valid) return [];
  const cases: Case[] = bodyMutations(schema, valid).map((m) =>
    // A NUL byte may be refused or kept as text; it must never reach PostgreSQL as a server error.
    make(`body: ${m.kind}`, m.label, { json: m.body }, m.allowed || m.kind === 'NUL byte' ? { allowSuccess: true } : { status: 400, mentions: m.field }),
  );
  const required = ((schema.required as string[] | undefined) ?? []).length > 0;
  for (const [label, value] of [['an array', []], ['a string', 'text'], ['a number', 42], ['a boolean', true], ...(required ? [['null', null]] : [])] as [string, unknown][]) {
    cases.push(make('body: not an object', `the body is ${label}`, { json: value }, { status: 400, mentions: 'body' }));
  }
  const rawJson = (label: string, data: string, expect: Expectation) => cases.push(make('body: bad JSON', label, { raw: { contentType: 'application/json', data } }, expect));
  for (const [label, text] of [
    ['unterminated object', '{'],
    ['missing value', '{"a":}'],
    ['single quotes', "{'a': 1}"],
    ['trailing comma', '{"a": 1,}'],
    ['NaN', 'NaN'],
    ['trailing garbage', '{"a": 1} x'],
    ['a NUL byte', '\u0000'],
  ]) rawJson(label!, text!, { status: 400, mentions: /JSON/ });
  rawJson('empty', '', { status: 400, mentions: /JSON|empty/i });
  rawJson('__proto__ key', '{"__proto__": {"polluted": true}}', { status: 400, mentions: /JSON|proto/i });
  rawJson('constructor.prototype key', '{"constructor": {"prototype": {"polluted": true}}}', { status: 400, mentions: /JSON|prototype/i });
  rawJson('nested 10,000 deep', '['.repeat(10_000) + ']'.repeat(10_000), { status: 400, mentions: 'body' });
  cases.push(make('body: too large', 'a body over 1 MiB', { raw: { contentType: 'application/json', data: JSON.stringify({ ...valid, padding: 'x'.repeat(1024 * 1024 + 16) }) } }, { status: 413 }));
  for (const contentType of ['application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'text/csv', undefined]) {
    const data = JSON.stringify(valid);
    cases.push(make('body: wrong media type', `sent as ${contentType ?? 'no content type'}`, { raw: { ...(contentType ? { contentType } : {}), data } }, { status: 415 }));
  }
  return cases;
}

let contactReferences = 0;

/**
 * A startCall body with a contact reference of its own: one case that slips through
 * validation places a call, and must not turn the next into a 409 for the same contact.
 */
function ownContact(o: SendOptions): SendOptions {
  const contact = (o.json as { contact?: unknown } | undefined)?.contact as { reference?: unknown } | undefined;
  if (!contact || typeof contact !== 'object' || contact.reference !== 'fuzz') return o;
  return { ...o, json: { ...(o.json as object), contact: { ...contact, reference: `fuzz-${++contactReferences}` } } };
}

function phoneCases(op: Operation, fx: Fixture): Case[] {
  const valid = validBody(op.operationId);
  if (!valid) return [];
  const cases: Case[] = [];
  const bad: [string, string][] = [
    ['too short', '+1'],
    ['letters', 'abc'],
    ['too many digits', '+999999999999999999'],
    ['empty', ''],
    ['a plus alone', '+'],
    ['national, no country', '4155550123'],
    ['over 32 characters', `+1${'4'.repeat(40)}`],
    ['a NUL byte inside', '+1415555\u00000123'],
  ];
  for (const field of phoneFields[op.operationId] ?? []) {
    for (const [label, phone] of bad) {
      const body = setPath(valid, field.split('.'), phone);
      cases.push({ category: 'phone number', operationId: op.operationId, label: `${op.operationId}: ${field} ${label}`, method: op.method, path: pathOf(op, fx), send: { json: body }, expect: { status: 400, mentions: `body.${field}` } });
    }
  }
  if (op.operationId === 'addDoNotCall') {
    // libphonenumber reads other scripts' digits; the list must then hold the ASCII number, so the block still matches.
    for (const [label, phone] of [['full-width digits', '+１４１５５５５０１２３'], ['Arabic-Indic digits', '+١٤١٥٥٥٥٠١٢٣']]) {
      cases.push({
        category: 'phone number',
        operationId: op.operationId,
        label: `${op.operationId}: phone in ${label}`,
        method: op.method,
        path: pathOf(op, fx),
        send: { json: { phone } },
        expect: { allowSuccess: true, checkSuccess: (r) => ((r.body as { phone?: string }).phone === '+14155550123' ? undefined : `stored as ${JSON.stringify((r.body as { phone?: string }).phone)}`) },
      });
    }
  }
  return cases;
}

function setPath(body: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  let node: Record<string, unknown> = out;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
  return out;
}

/** Cursors this API never issued, but which decode: a NUL in the ID, dates PostgreSQL cannot hold. */
const forgedCursors: [string, { at: string; id: string }][] = [
  ['a NUL in its ID', { at: '2020-01-01T00:00:00.000Z', id: '\u0000' }],
  ['a date before year 1', { at: '-271821-04-20T00:00:00.000Z', id: 'x' }],
  ['a date in year 275760', { at: '+275760-09-13T00:00:00.000Z', id: 'x' }],
];

/** Values refused by a check the schema cannot show (a handler's, a refinement's). */
const knownBadQueryValues: Record<string, string[]> = {
  defaultRegion: ['XX', 'usa', ''],
  defaultTimeZone: ['Mars/Base'],
  before: ['9'.repeat(19), '1'.repeat(20)],
};

/** Odd values a parameter's schema allows: a success is fine, a server error never. */
const edgeQueryValues: Record<string, string[]> = {
  from: ['0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2020-02-30T00:00:00Z', '2020-01-01T00:00:00+14:00'],
  to: ['0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'],
};

function queryCases(op: Operation, fx: Fixture): Case[] {
  const params = paramsIn(op, 'query');
  if (params.length === 0) return [];
  const base = baseRequest(op);
  const path = pathOf(op, fx);
  const cases: Case[] = [];
  const add = (label: string, query: string, expect: Expectation) =>
    cases.push({ category: 'query string', operationId: op.operationId, label: `${op.operationId}: ${label}`, method: op.method, path: `${path}?${query}`, send: base, expect });
  for (const p of params) {
    const s = p.schema;
    const values: [string, string][] = [];
    const num = (k: string) => (typeof s[k] === 'number' ? (s[k]) : undefined);
    if (s.type === 'integer' || s.type === 'number') {
      values.push(['letters', 'abc'], ['a fraction', '1.5'], ['1e400', '1e400'], ['30 digits', '9'.repeat(30)], ['empty', '']);
      if (num('minimum') !== undefined) values.push(['below its minimum', String(num('minimum')! - 1)]);
      if (num('maximum') !== undefined) values.push(['above its maximum', String(num('maximum')! + 1)]);
    }
    if (s.type === 'string') {
      if (num('maxLength') !== undefined) values.push([`longer than ${num('maxLength')}`, 'x'.repeat(num('maxLength')! + 1)]);
      if (typeof s.pattern === 'string') values.push(['not matching its pattern', '!!']);
      if (typeof s.format === 'string') values.push([`not a ${s.format}`, 'yesterday']);
      if (Array.isArray(s.enum)) values.push(['not one of its values', 'maybe']);
    }
    for (const v of knownBadQueryValues[p.name] ?? []) values.push([`known bad ${JSON.stringify(v)}`, v]);
    for (const [label, value] of values) add(`${p.name} ${label}`, `${p.name}=${encodeURIComponent(value)}`, { status: 400, mentions: p.name });
    for (const v of edgeQueryValues[p.name] ?? []) add(`${p.name} ${v}`, `${p.name}=${encodeURIComponent(v)}`, { allowSuccess: true });
    // A NUL byte may be refused or matched as text; it must never reach PostgreSQL as a server error.
    if (s.type === 'string') add(`${p.name} with a NUL byte inside`, `${p.name}=a%00b`, { allowSuccess: true });
    add(`${p.name} given twice`, `${p.name}=1&${p.name}=2`, { status: 400, mentions: p.name });
    if (p.name === 'cursor') {
      add('cursor not base64 JSON', 'cursor=not-a-cursor', { status: 400, mentions: 'cursor' });
      for (const [label, c] of forgedCursors) add(`cursor with ${label}`, `cursor=${Buffer.from(JSON.stringify(c)).toString('base64url')}`, { allowSuccess: true });
    }
  }
  add('an unknown parameter', 'bogusParam=1', { status: 400, mentions: 'bogusParam' });
  return cases;
}

/** Path segments that name nothing, as they go on the wire. */
const oddSegments: [string, string][] = [
  ['an emoji', '%F0%9F%98%80'],
  ['accented letters', '%C3%BCn%C3%AFc%C3%B6d%C3%A9'],
  ['a NUL byte', '%00'],
  ['a NUL byte inside', 'a%00b'],
  ['an encoded ../', '..%2F..%2Fapi-keys'],
  ['a raw ../', '../..'],
  ['41 characters', 'a'.repeat(41)],
  ['150 characters', 'a'.repeat(150)],
  ['a broken percent-escape', '%E0%A4%A'],
  ['a lone percent sign', '%'],
  ['quotes and SQL', "x'%20OR%20'1'%3D'1"],
  ['a space', 'a%20b'],
];

function pathCases(op: Operation, fx: Fixture): Case[] {
  const base = baseRequest(op);
  return paramsIn(op, 'path').flatMap((p) =>
    oddSegments.map(([label, raw]) => ({
      category: 'path segment',
      operationId: op.operationId,
      label: `${op.operationId}: ${p.name} ${label}`,
      method: op.method,
      path: pathOf(op, fx, { name: p.name, raw }),
      send: base,
      expect: { mentions: /url|path|\/v1\//i },
    })),
  );
}

function csvCases(op: Operation, fx: Fixture): Case[] {
  if (!isCsv(op)) return [];
  const random = seededRandom(fuzzSeed);
  const garbage = Buffer.from(Array.from({ length: 8192 }, () => Math.floor(random() * 256)));
  const path = pathOf(op, fx);
  const csv = (label: string, data: string | Buffer, expect: Expectation, contentType: string | null = 'text/csv'): Case => ({
    category: 'CSV upload',
    operationId: op.operationId,
    label: `${op.operationId}: ${label}`,
    method: op.method,
    path,
    send: { raw: { ...(contentType ? { contentType } : {}), data } },
    expect,
  });
  // Rows without a number are refused before any phone parsing, so the file is cheap to process.
  const tooManyRows = `phone,note\n${',x\n'.repeat(200_001)}`;
  return [
    csv('an unterminated quote', 'phone,time_zone\n"+14155550101,America/Chicago\n', { status: 400, mentions: /CSV|quote/i }),
    csv('no phone column', 'name,time_zone\nAda,UTC\n', { status: 400, mentions: /phone/ }),
    csv(`8 KiB of binary garbage (seed ${fuzzSeed})`, garbage, { status: 400, mentions: /CSV|rows|phone/i }),
    csv('binary garbage under a phone header', Buffer.concat([Buffer.from('phone,note\n'), garbage]), { allowSuccess: true }),
    csv('an empty file', '', { status: 400, mentions: /rows|empty/i }),
    csv('a header only', 'phone,time_zone,consent\n', { status: 400, mentions: /rows/ }),
    csv('a byte-order mark only', '\ufeff', { status: 400, mentions: /rows|empty/i }),
    csv('rows longer than the header', 'phone,time_zone\n+14155550101,America/Chicago,extra\n', { status: 400, mentions: /CSV|length|column/i }),
    csv('a record over 64 KiB', `phone\n"${'a'.repeat(70_000)}"\n`, { status: 400, mentions: /CSV|size|record/i }),
    // A valid row with a NUL in one of its fields: the row may be refused, the file never a 500.
    csv('a NUL byte in a field of a valid row', 'phone,time_zone,consent,note\n+14155550108,America/Chicago,yes,a\u0000b\n', { allowSuccess: true }),
    csv('more than 200,000 rows', tooManyRows, { status: 400, mentions: /rows/ }),
    csv('sent as application/json', '{"phone": "+14155550101"}', { status: 415 }, 'application/json'),
    csv('sent as text/plain', csvOk, { status: 415 }, 'text/plain'),
    csv('sent without a content type', csvOk, { status: 415 }, null),
  ];
}

/** Probes every operation takes: a URL beyond Node's header limit, a malformed Idempotency-Key. */
function genericCases(op: Operation, fx: Fixture): Case[] {
  const base = baseRequest(op);
  const path = pathOf(op, fx);
  const cases: Case[] = [
    { category: 'URL too long', operationId: op.operationId, label: `${op.operationId}: a 20 KiB query string`, method: op.method, path: `${path}?pad=${'x'.repeat(20 * 1024)}`, send: base, expect: {} },
  ];
  if (op.method === 'POST') {
    for (const [label, key] of [['a space inside', 'has space'], ['256 characters', 'k'.repeat(256)]]) {
      cases.push({ category: 'Idempotency-Key', operationId: op.operationId, label: `${op.operationId}: Idempotency-Key with ${label}`, method: op.method, path, send: { ...base, headers: { 'idempotency-key': key! } }, expect: { status: 400, mentions: 'Idempotency-Key' } });
    }
  }
  return cases;
}

/** Why an answer is not the one a malformed request must get; undefined when it is. */
function verdict(r: Reply, e: Expectation): string | undefined {
  if (r.status >= 500) return `server error ${r.status}`;
  if (r.status < 400) return e.allowSuccess ? e.checkSuccess?.(r) : `accepted with ${r.status}: ${r.text.slice(0, 160)}`;
  if (e.status !== undefined && r.status !== e.status) return `answered ${r.status}, expected ${e.status}`;
  if (!r.contentType.startsWith(problemMediaType)) return `a ${r.status} as ${r.contentType || 'no content type'}, not a problem detail`;
  const p = r.body as { type?: unknown; title?: unknown; status?: unknown; detail?: unknown };
  if (typeof p.type !== 'string' || !p.type.startsWith(problemTypeBase)) return `problem type ${String(p.type)}`;
  if (typeof p.title !== 'string' || p.title === '') return 'a problem without a title';
  if (p.status !== r.status) return `problem status ${String(p.status)} on a ${r.status}`;
  if (r.status !== 400) return undefined;
  if (typeof p.detail !== 'string' || p.detail === '') return 'a 400 without a detail';
  const named = e.mentions === undefined || (typeof e.mentions === 'string' ? p.detail.includes(e.mentions) : e.mentions.test(p.detail));
  return named ? undefined : `the detail does not name ${String(e.mentions)}: ${p.detail.slice(0, 200)}`;
}

/** Runs the cases a few at a time; returns the failures, and records contract violations. */
async function runCases(cases: Case[], fx: Fixture, contract: ContractValidator, violations: Violation[]): Promise<Failure[]> {
  const failures: Failure[] = [];
  let next = 0;
  const runOne = async (c: Case) => {
    let r: Reply;
    try {
      r = await send(c.method, c.path, { ...(c.operationId === 'startCall' ? ownContact(c.send) : c.send), key: fx.tenant.keys.admin });
    } catch (err) {
      return failures.push({ category: c.category, label: c.label, reason: `no answer: ${(err as Error).message}` });
    }
    const reason = verdict(r, c.expect);
    if (reason) failures.push({ category: c.category, label: c.label, reason });
    // A server error is reported above already; a path that no longer names the operation (`../`) has no contract.
    if (r.status < 500 && contract.operationFor(c.method, c.path)?.operationId === c.operationId) {
      for (const v of contract.check(c.method, c.path, r)) violations.push({ operationId: c.operationId, problem: v.replace(/ \(declared: [^)]*\)/, '') });
    }
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < cases.length) await runOne(cases[next++]!);
    }),
  );
  return failures;
}

/** Failures grouped by what went wrong, with a few of the requests that showed it. */
function report(failures: Failure[]): string {
  const groups = new Map<string, string[]>();
  for (const f of failures) {
    const key = `${f.category} — ${f.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), f.label]);
  }
  return [...groups]
    .map(([key, labels]) => `• ${key} (${labels.length}×)\n    ${labels.slice(0, 30).join('\n    ')}${labels.length > 30 ? `\n    … and ${labels.length - 30} more` : ''}`)
    .join('\n');
}

describe('malformed requests', () => {
  let fx: Fixture;
  let contract: ContractValidator;
  const violations: Violation[] = [];
  const probed = new Map<string, number>();

  before(async () => {
    contract = new ContractValidator(doc);
    const tenant = await api.newTenant();
    const ok = async (method: string, path: string, json: unknown) => {
      const r = await send(method, path, { key: tenant.keys.admin, json });
      assert.ok(r.status < 300, `${method} ${path}: ${r.text}`);
      return r.body as { id: string };
    };
    await ok('POST', '/v1/trunks', { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 });
    await ok('POST', '/v1/agents', { id: 'sales', name: 'Sales', settings: { instructions: 'x', greeting: 'y' } });
    const campaign = await ok('POST', '/v1/campaigns', validBody('createCampaign'));
    const endpoint = await ok('POST', '/v1/webhook-endpoints', validBody('createWebhookEndpoint'));
    const key = await ok('POST', '/v1/api-keys', { name: 'spare', role: 'viewer' });
    fx = {
      tenant,
      ids: { callId: `outbound_${tenant.tenantId}_direct_fuzz_1`, campaignId: campaign.id, agentId: 'sales', trunkId: 'main', keyId: key.id, endpointId: endpoint.id },
    };
  });

  /** Runs one family of cases over every operation. */
  async function probe(make: (op: Operation) => Case[]): Promise<void> {
    const cases = contract.operations.flatMap(make);
    for (const c of cases) probed.set(c.operationId, (probed.get(c.operationId) ?? 0) + 1);
    const failures = await runCases(cases, fx, contract, violations);
    if (failures.length > 0) assert.fail(`${failures.length} of ${cases.length} malformed requests were mishandled:\n${report(failures)}`);
  }

  test('JSON bodies: wrong types, refused values, missing and unknown fields, bad JSON, too large, wrong media type', async () => {
    await probe((op) => bodyCases(op, fx));
  });

  test('query strings: wrong types, out of range, too long, NUL bytes, repeated and unknown parameters, forged cursors', async () => {
    await probe((op) => queryCases(op, fx));
  });

  test('path segments: unicode, emoji, NUL, ../, too long, broken percent-escapes', async () => {
    await probe((op) => pathCases(op, fx));
  });

  test('phone numbers: too short, letters, too many digits, other scripts’ digits', async () => {
    await probe((op) => phoneCases(op, fx));
  });

  test('CSV uploads: unterminated quotes, no phone column, binary garbage, empty, header only, too many rows, wrong media type', async () => {
    await probe((op) => csvCases(op, fx));
  });

  test('every operation: a URL beyond the header limit, a malformed Idempotency-Key', async () => {
    await probe((op) => genericCases(op, fx));
  });

  test('a CSV upload over the 50 MiB limit is answered 413, not left hanging', async () => {
    const op = contract.operations.find(isCsv);
    assert.ok(op, 'the document has a CSV upload');
    probed.set(op.operationId, (probed.get(op.operationId) ?? 0) + 1);
    // Against an API in a child process: should the upload hang, its stuck request and
    // open transaction die with the child instead of keeping this process alive.
    const child = await childApi();
    try {
      const outcome = await oversizedUpload(child.url, pathOf(op, fx), fx.tenant.keys.admin, 51 * 1024 * 1024, 15_000);
      const reason = 'error' in outcome ? outcome.error : verdict(outcome, { status: 413 });
      assert.equal(reason, undefined, `a 51 MiB upload: ${reason}`);
    } finally {
      child.kill();
    }
  });

  test('every operation was probed, and every answer to a probe is one the document declares', () => {
    const unprobed = contract.operations.map((op) => op.operationId).filter((id) => !probed.has(id));
    assert.deepEqual(unprobed, [], 'operations no malformed request reached');
    const unbroken = contract.operations.filter((op) => jsonSchemaOf(op) && !validBody(op.operationId)).map((op) => op.operationId);
    assert.deepEqual(unbroken, [], 'operations taking JSON without a valid body in validBody() to break');
    const byProblem = new Map<string, Set<string>>();
    for (const v of violations) byProblem.set(v.problem, (byProblem.get(v.problem) ?? new Set()).add(v.operationId));
    const lines = [...byProblem].map(([problem, ops]) => `• ${problem}: ${[...ops].join(', ')}`);
    if (lines.length > 0) assert.fail(`answers to malformed requests that the document does not declare:\n${lines.join('\n')}`);
  });

  test('the server is still healthy', async () => {
    const health = await send('GET', '/health');
    assert.deepEqual([health.status, health.text], [200, 'ok']);
    const agents = await send('GET', '/v1/agents', { key: fx.tenant.keys.viewer });
    assert.equal(agents.status, 200, agents.text);
  });
});

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The API served by a child process of its own; `kill` ends it (and whatever it was stuck in). */
async function childApi(): Promise<{ url: string; kill: () => void }> {
  const source = [
    `import { startApi } from ${JSON.stringify(new URL('../helpers/api.ts', import.meta.url).href)};`,
    `import { temporalClient } from ${JSON.stringify(new URL('../helpers/temporal.ts', import.meta.url).href)};`,
    'const { client } = await temporalClient();',
    `const api = await startApi({ temporal: client, taskQueue: ${JSON.stringify(uniqueName('idle'))} });`,
    'process.stdout.write(api.url + "\\n");',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => {
    child.kill('SIGKILL');
  };
  try {
    const url = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
        });
        child.once('exit', (code) => reject(new Error(`the child API exited (${code})`)));
      }),
      60_000,
      'the child API did not start',
    );
    return { url, kill };
  } catch (err) {
    kill();
    throw err;
  }
}

/**
 * Streams `bytes` of CSV (a header, then blank lines, which the parser skips, so nothing
 * but the size can refuse it) and stops writing once answered.
 */
function oversizedUpload(baseUrl: string, path: string, key: string, bytes: number, timeoutMs: number): Promise<Reply | { error: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    let answered = false;
    let sent = 0;
    const started = Date.now();
    const req = request({ hostname, port, method: 'POST', path, agent: false, headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'content-length': String(bytes) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = res.headers['content-type'] ?? '';
        let body: unknown = text;
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          // not JSON: the verdict says so
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType, text, body });
      };
      res.on('end', done);
      res.on('aborted', done);
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ error: `no answer within ${timeoutMs} ms, a hang (${sent} of ${bytes} bytes sent)` });
    }, timeoutMs);
    req.on('error', (err) => {
      if (answered) return;
      // A reset may come just before the answer is read; give it a moment.
      void sleep(500).then(() => {
        if (answered) return;
        clearTimeout(timer);
        resolve({ error: `the connection failed without an answer after ${Date.now() - started} ms: ${err.message}` });
      });
    });
    const header = Buffer.from('phone,time_zone\n');
    const blank = Buffer.alloc(64 * 1024, '\n');
    const pump = () => {
      if (sent === 0) {
        req.write(header);
        sent = header.length;
      }
      while (sent < bytes && !answered && !req.destroyed) {
        const chunk = blank.subarray(0, Math.min(blank.length, bytes - sent));
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}

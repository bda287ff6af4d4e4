/**
 * The integrator API's security, against the real stack: every role against every route
 * (read from the served OpenAPI document, so a new route is covered the day it lands);
 * missing, malformed and revoked keys; every resource of one tenant probed by another
 * (404, nothing leaks, audited) and row-level security proved in PostgreSQL itself;
 * Idempotency-Key replays and conflicts, JSON and CSV; rate limits with Retry-After.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { bodyDigest, claimIdempotencyKey } from '../../api/idempotency.js';
import { withTenant } from '../../api/tenant-db.js';
import { tenantRole } from '../../deploy/db/migrations/0005_api.js';
import type { ApiRole } from '../../deploy/db/schema.js';
import { startApi, type ApiHarness, type TestTenant } from '../helpers/api.js';
import { uniqueName } from '../helpers/env.js';
import { temporalClient } from '../helpers/temporal.js';

let temporal: Client;
let closeTemporal: () => Promise<void>;
let api: ApiHarness;
before(async () => {
  ({ client: temporal, close: closeTemporal } = await temporalClient());
  // A task queue no worker polls: nothing the API starts here ever runs.
  api = await startApi({ temporal, taskQueue: uniqueName('idle') });
});
after(async () => {
  await api.close();
  await closeTemporal();
});

interface Operation {
  method: string;
  path: string;
  role: ApiRole;
  operationId: string;
  csv: boolean;
}

async function operations(): Promise<Operation[]> {
  const doc = (await api.request('GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, { operationId: string; 'x-kickcall-role': ApiRole; requestBody?: { content: Record<string, unknown> } }>> };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, role: op['x-kickcall-role'], operationId: op.operationId, csv: Boolean(op.requestBody?.content['text/csv']) })),
  );
}

/** A path with its `{params}` filled from `ids`. */
const fill = (path: string, ids: Record<string, string>) => path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? `unknown-${name}`);

/** Bodies that pass validation, so a probe reaches the resource lookup. */
const validBodies: Record<string, unknown> = { cancelCampaign: { reason: 'probe' }, updateAgent: { name: 'probe' } };

function send(op: Operation, path: string, key: string | undefined, headers: Record<string, string> = {}) {
  if (op.csv) return api.request(op.method, path, { ...(key ? { key } : {}), headers, raw: { contentType: 'text/csv', data: 'phone\n+14155550100\n' } });
  return api.request(op.method, path, { ...(key ? { key } : {}), headers, ...(op.method === 'GET' ? {} : { body: validBodies[op.operationId] ?? {} }) });
}

const rank: Record<ApiRole, number> = { viewer: 0, operator: 1, admin: 2 };

describe('who may do what', () => {
  test('every route refuses a request without a valid key (401), whatever the route', async () => {
    const tenant = await api.newTenant();
    const ops = await operations();
    assert.ok(ops.length >= 25, `the document lists ${ops.length} operations`);
    const ids = { callId: `outbound_${tenant.tenantId}_direct_x_1`, campaignId: 'cmp-x', keyId: 'key_0000000000000000', agentId: 'a', trunkId: 't' };
    for (const op of ops) {
      const path = fill(op.path, ids);
      for (const [label, auth] of [['no key', undefined], ['malformed', 'Basic abc'], ['unknown', 'Bearer kk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']] as const) {
        const res = await send(op, path, undefined, auth ? { authorization: auth } : {});
        assert.equal(res.status, 401, `${op.method} ${path} with ${label}`);
        assert.equal((res.body as { type: string }).type, 'https://kickcall.dev/problems/unauthorized');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      }
    }
  });

  test('authorization matrix: each role against each route; a refused request changes nothing and is audited', async () => {
    const tenant = await api.newTenant();
    const ops = await operations();
    const ids = { callId: `outbound_${tenant.tenantId}_direct_x_1`, campaignId: 'cmp-x', keyId: 'key_0000000000000000', agentId: 'a', trunkId: 't' };
    let refused = 0;
    for (const op of ops) {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await send(op, fill(op.path, ids), tenant.keys[role]);
        const label = `${role} → ${op.method} ${op.path} (${op.operationId}, needs ${op.role})`;
        if (rank[role] < rank[op.role]) {
          assert.equal(res.status, 403, label);
          assert.equal((res.body as { type: string }).type, 'https://kickcall.dev/problems/forbidden', label);
          refused++;
        } else {
          assert.ok(![401, 403].includes(res.status) && res.status < 500, `${label}: ${res.status} ${res.text}`);
        }
      }
    }
    // Refusals touched nothing: no key, agent, trunk or campaign appeared.
    const made = await withTenant(api.db, tenant.tenantId, async (tx) => ({
      keys: (await tx.selectFrom('api_keys').select('id').execute()).length,
      agents: (await tx.selectFrom('agents').select('id').execute()).length,
      trunks: (await tx.selectFrom('outbound_trunks').select('id').execute()).length,
      campaigns: (await tx.selectFrom('campaigns').select('id').execute()).length,
      forbidden: (await tx.selectFrom('audit_log').select('id').where('status', '=', 403).execute()).length,
    }));
    assert.deepEqual(made, { keys: 3, agents: 0, trunks: 0, campaigns: 0, forbidden: refused });
  });

  test('a revoked key is refused from its next request; keys are listed by prefix, never with their secret', async () => {
    const tenant = await api.newTenant();
    const made = await api.request('POST', '/v1/api-keys', { key: tenant.keys.admin, body: { name: 'ci', role: 'viewer' } });
    assert.equal(made.status, 201);
    const { id, key, prefix } = made.body as { id: string; key: string; prefix: string };
    assert.ok(key.startsWith(`${prefix}_`));
    assert.equal((await api.request('GET', '/v1/calls', { key })).status, 200);
    const listed = await api.request('GET', '/v1/api-keys', { key: tenant.keys.admin });
    assert.ok(!listed.text.includes(key.slice(prefix.length + 1)), 'no secret in the list');
    const stored = await api.db.selectFrom('api_keys').select('secret_sha256').where('id', '=', id).executeTakeFirstOrThrow();
    assert.match(stored.secret_sha256, /^[0-9a-f]{64}$/);
    assert.equal((await api.request('DELETE', `/v1/api-keys/${id}`, { key: tenant.keys.admin })).status, 200);
    const after = await api.request('GET', '/v1/calls', { key });
    assert.equal(after.status, 401);
    assert.match((after.body as { detail: string }).detail, /revoked/);
  });
});

describe('tenant isolation', () => {
  /** Tenant A's resources of every kind, made through the API (and a call row, which only workflows write). */
  async function resourcesOf(a: TestTenant) {
    const trunk = await api.request('POST', '/v1/trunks', { key: a.keys.admin, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 2 } });
    assert.equal(trunk.status, 201, trunk.text);
    const agent = await api.request('POST', '/v1/agents', { key: a.keys.operator, body: { id: 'sales', name: 'Sales', settings: { instructions: 'Sell.', greeting: 'Hello!' } } });
    assert.equal(agent.status, 201, agent.text);
    const campaign = await api.request('POST', '/v1/campaigns', {
      key: a.keys.operator,
      body: { name: 'Spring', config: { agent: { instructions: 'Sell.', greeting: 'Hi' }, trunkId: 'main', callsPerSecond: 1, maxConcurrentCalls: 1 } },
    });
    assert.equal(campaign.status, 201, campaign.text);
    const campaignId = (campaign.body as { id: string }).id;
    const upload = await api.request('POST', `/v1/campaigns/${campaignId}/contacts`, { key: a.keys.operator, raw: { contentType: 'text/csv', data: 'phone,time_zone,consent\n+14155550111,America/New_York,yes\n' } });
    assert.equal(upload.status, 201, upload.text);
    const key = await api.request('POST', '/v1/api-keys', { key: a.keys.admin, body: { name: 'spare', role: 'viewer' } });
    const callId = `outbound_${a.tenantId}_direct_c1_1`;
    await api.db.insertInto('calls').values({ id: callId, tenant_id: a.tenantId, direction: 'outbound', status: 'completed', contact_id: 'c1', callee_e164: '+14155550111' }).execute();
    await api.db.insertInto('call_turns').values({ call_id: callId, seq: 1, role: 'user', text: 'my secret', occurred_at: new Date() }).execute();
    await api.request('POST', '/v1/do-not-call', { key: a.keys.operator, body: { phone: '+14155550199' } });
    const hook = await api.request('POST', '/v1/webhook-endpoints', { key: a.keys.admin, body: { url: 'https://hooks.example.com/kickcall', eventTypes: ['call.ended'] } });
    assert.equal(hook.status, 201, hook.text);
    const endpointId = (hook.body as { id: string }).id;
    return { callId, campaignId, keyId: (key.body as { id: string }).id, agentId: 'sales', trunkId: 'main', endpointId };
  }

  test('every route with an ID answers another tenant 404, leaks nothing, changes nothing, and audits the probe', async () => {
    const a = await api.newTenant();
    const b = await api.newTenant();
    const ids = await resourcesOf(a);
    const ops = (await operations()).filter((op) => op.path.includes('{'));
    assert.ok(ops.length >= 15);
    for (const op of ops) {
      const res = await send(op, fill(op.path, ids), b.keys.admin);
      assert.equal(res.status, 404, `${op.method} ${op.path}: ${res.status} ${res.text}`);
      assert.ok(!res.text.includes('my secret') && !res.text.includes('+1415555'), 'nothing of A in the answer');
    }
    // B's lists hold none of A's records.
    for (const path of ['/v1/calls', '/v1/campaigns', '/v1/agents', '/v1/trunks', '/v1/api-keys', '/v1/do-not-call', '/v1/webhook-endpoints']) {
      const res = await api.request('GET', path, { key: b.keys.admin });
      assert.equal(res.status, 200, path);
      for (const id of [ids.callId, ids.campaignId, ids.keyId, ids.endpointId, '"sales"', '"main"', '+14155550199', a.tenantId]) assert.ok(!res.text.includes(id), `${path} shows ${id}`);
    }
    // A's records are untouched.
    const campaign = await api.request('GET', `/v1/campaigns/${ids.campaignId}`, { key: a.keys.viewer });
    assert.equal((campaign.body as { status: string }).status, 'draft');
    const keys = await api.request('GET', '/v1/api-keys', { key: a.keys.admin });
    assert.ok((keys.body as { items: { id: string; revokedAt: string | null }[] }).items.every((k) => k.revokedAt === null));
    assert.equal((await api.request('GET', `/v1/calls/${ids.callId}/transcript`, { key: a.keys.viewer })).status, 200);
    const hook = await api.request('GET', `/v1/webhook-endpoints/${ids.endpointId}`, { key: a.keys.admin });
    assert.deepEqual([(hook.body as { enabled: boolean }).enabled, (hook.body as { previousSecretExpiresAt: unknown }).previousSecretExpiresAt], [true, null], 'not disabled or rotated by B');
    // Every probe is in B's audit log, which holds B's requests only (A's writes were 201s).
    const audit = await api.request('GET', '/v1/audit-log?limit=500', { key: b.keys.admin });
    const records = (audit.body as { items: { status: number; route: string }[] }).items;
    assert.equal(records.filter((r) => r.status === 404).length, ops.length);
    assert.ok(records.every((r) => r.status === 404), 'nothing of A in B’s audit log');
  });

  test('row-level security holds in PostgreSQL itself: another tenant’s rows are invisible and unwritable, an unset tenant sees nothing', async () => {
    const a = await api.newTenant();
    const b = await api.newTenant();
    const ids = await resourcesOf(a);
    await withTenant(api.db, b.tenantId, async (tx) => {
      // Explicitly asking for A's rows by ID finds nothing.
      assert.equal(await tx.selectFrom('campaigns').select('id').where('id', '=', ids.campaignId).executeTakeFirst(), undefined);
      assert.equal(await tx.selectFrom('calls').select('id').where('tenant_id', '=', a.tenantId).executeTakeFirst(), undefined);
      assert.equal(await tx.selectFrom('call_turns').select('seq').where('call_id', '=', ids.callId).executeTakeFirst(), undefined);
      assert.equal(await tx.selectFrom('contacts').select('id').where('tenant_id', '=', a.tenantId).executeTakeFirst(), undefined);
      const deleted = await tx.deleteFrom('agents').where('tenant_id', '=', a.tenantId).executeTakeFirst();
      assert.equal(deleted.numDeletedRows, 0n);
    });
    await assert.rejects(
      withTenant(api.db, b.tenantId, (tx) => tx.insertInto('agents').values({ tenant_id: a.tenantId, id: 'planted', name: 'x', settings: '{}' }).execute()),
      /row-level security/,
    );
    // Without a tenant set, the request role reads nothing at all (fail closed).
    const unset = await api.db.transaction().execute(async (tx) => {
      await sql`SET LOCAL ROLE ${sql.id(tenantRole)}`.execute(tx);
      return tx.selectFrom('campaigns').select('id').execute().then(
        (rows) => rows.length,
        (err: Error) => err.message,
      );
    });
    assert.ok(unset === 0 || /app\.tenant_id/.test(String(unset)), `unset tenant: ${unset}`);
    // The audit log cannot be rewritten, even by the application role.
    await assert.rejects(api.db.deleteFrom('audit_log').where('tenant_id', '=', a.tenantId).execute(), /append-only/);
    await assert.rejects(api.db.updateTable('audit_log').set({ status: 200 }).where('tenant_id', '=', a.tenantId).execute(), /append-only/);
  });
});

describe('Idempotency-Key', () => {
  test('a repeat is replayed with the first response; the same key with another body is refused; a key in use answers 409', async () => {
    const t = await api.newTenant();
    const body = { id: 'support', name: 'Support', settings: { instructions: 'Help.', greeting: 'Hi there' } };
    const first = await api.request('POST', '/v1/agents', { key: t.keys.operator, body, headers: { 'idempotency-key': 'agent-1' } });
    assert.equal(first.status, 201);
    const again = await api.request('POST', '/v1/agents', { key: t.keys.admin, body, headers: { 'idempotency-key': 'agent-1' } });
    assert.equal(again.status, 201, 'replayed, not a 409 for an existing agent');
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    const other = await api.request('POST', '/v1/agents', { key: t.keys.operator, body: { ...body, name: 'Other' }, headers: { 'idempotency-key': 'agent-1' } });
    assert.equal(other.status, 422);
    assert.equal((other.body as { type: string }).type, 'https://kickcall.dev/problems/idempotency-key-reused');
    // Another tenant's identical key is its own.
    const u = await api.newTenant();
    assert.equal((await api.request('POST', '/v1/agents', { key: u.keys.operator, body, headers: { 'idempotency-key': 'agent-1' } })).status, 201);
    // A request still in progress holds its key.
    const busyRequest = { query: {}, body: { phone: '+14155550142', source: 'api' } };
    await claimIdempotencyKey(api.db, { tenantId: t.tenantId, apiKeyId: 'k', key: 'busy', method: 'POST', path: '/v1/do-not-call', requestSha256: bodyDigest(busyRequest) });
    const busy = await api.request('POST', '/v1/do-not-call', { key: t.keys.operator, body: { phone: '+14155550142' }, headers: { 'idempotency-key': 'busy' } });
    assert.equal(busy.status, 409);
    assert.equal((busy.body as { type: string }).type, 'https://kickcall.dev/problems/idempotency-key-in-use');
    // An error answer is saved too: the repeat gets the same 400.
    const bad1 = await api.request('POST', '/v1/do-not-call', { key: t.keys.operator, body: { phone: 'nope' }, headers: { 'idempotency-key': 'bad' } });
    const bad2 = await api.request('POST', '/v1/do-not-call', { key: t.keys.operator, body: { phone: 'nope' }, headers: { 'idempotency-key': 'bad' } });
    assert.equal(bad1.status, 400);
    assert.equal(bad2.status, 400);
  });

  test('a secret is shown once: a repeat answers 409 naming the resource, and the secret is not kept for replays', async () => {
    const t = await api.newTenant();
    const made = await api.request('POST', '/v1/api-keys', { key: t.keys.admin, body: { name: 'ci', role: 'viewer' }, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(made.status, 201, made.text);
    const { id, key } = made.body as { id: string; key: string };
    const again = await api.request('POST', '/v1/api-keys', { key: t.keys.admin, body: { name: 'ci', role: 'viewer' }, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(again.status, 409);
    assert.equal((again.body as { type: string }).type, 'https://kickcall.dev/problems/secret-shown-once');
    assert.equal((again.body as { resourceId: string }).resourceId, id);
    assert.ok(!again.text.includes(key.split('_').at(-1)!), 'the replay holds no part of the secret');
    // The key made by the first request works, and only one was made.
    assert.equal((await api.request('GET', '/v1/agents', { key })).status, 200);
    const keys = await api.request('GET', '/v1/api-keys', { key: t.keys.admin });
    assert.equal((keys.body as { items: { name: string }[] }).items.filter((k) => k.name === 'ci').length, 1);

    const hook = await api.request('POST', '/v1/webhook-endpoints', { key: t.keys.admin, body: { url: 'https://hooks.example.com/kk', eventTypes: ['call.ended'] }, headers: { 'idempotency-key': 'hook-1' } });
    assert.equal(hook.status, 201, hook.text);
    const { id: hookId, secret } = hook.body as { id: string; secret: string };
    const rotated = await api.request('POST', `/v1/webhook-endpoints/${hookId}/rotate-secret`, { key: t.keys.admin, body: {}, headers: { 'idempotency-key': 'rotate-1' } });
    assert.equal(rotated.status, 200, rotated.text);
    const rotatedAgain = await api.request('POST', `/v1/webhook-endpoints/${hookId}/rotate-secret`, { key: t.keys.admin, body: {}, headers: { 'idempotency-key': 'rotate-1' } });
    assert.equal(rotatedAgain.status, 409, 'a repeat does not rotate a second time');
    assert.equal((await api.request('POST', '/v1/webhook-endpoints', { key: t.keys.admin, body: { url: 'https://hooks.example.com/kk', eventTypes: ['call.ended'] }, headers: { 'idempotency-key': 'hook-1' } })).status, 409);
    // Nothing saved for replay holds a secret.
    const saved = await withTenant(api.db, t.tenantId, (tx) => tx.selectFrom('idempotency_keys').select('response_body as response').execute());
    for (const row of saved) {
      for (const s of [key, secret, (rotated.body as { secret: string }).secret]) assert.ok(!String(row.response).includes(s), 'a saved answer holds a secret');
    }
  });

  test('a CSV upload repeated with its key imports once; another file under the same key imports nothing', async () => {
    const t = await api.newTenant();
    await api.request('POST', '/v1/trunks', { key: t.keys.admin, body: { id: 'main', address: '127.0.0.1:5080', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 } });
    const made = await api.request('POST', '/v1/campaigns', { key: t.keys.operator, body: { name: 'c', config: { agent: { instructions: 'x', greeting: 'y' }, trunkId: 'main', callsPerSecond: 1, maxConcurrentCalls: 1 } } });
    const campaignId = (made.body as { id: string }).id;
    const csv = 'phone,time_zone,consent\n+14155550121,America/Chicago,yes\n+14155550122,America/Chicago,yes\n';
    const upload = (data: string) => api.request('POST', `/v1/campaigns/${campaignId}/contacts`, { key: t.keys.operator, raw: { contentType: 'text/csv', data }, headers: { 'idempotency-key': 'import-1' } });
    const first = await upload(csv);
    assert.equal(first.status, 201, first.text);
    const again = await upload(csv);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((again.body as { importId: string }).importId, (first.body as { importId: string }).importId);
    const other = await upload('phone,time_zone,consent\n+14155550123,America/Chicago,yes\n');
    assert.equal(other.status, 422);
    const contacts = await api.db.selectFrom('contacts').select('phone_e164').where('campaign_id', '=', campaignId).execute();
    assert.deepEqual(contacts.map((c) => c.phone_e164).sort(), ['+14155550121', '+14155550122']);
  });
});

describe('Temporal not answering', () => {
  test('a request that needs Temporal answers 503 within its deadline, and its retry under the same key places one call', async () => {
    // A server that accepts connections and never answers: Temporal hung, not down.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hung = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${(silent.address() as AddressInfo).port}` }) });
    const stalled = await startApi({ temporal: hung, temporalTimeoutMs: 1500 });
    try {
      const t = await stalled.newTenant();
      await stalled.request('POST', '/v1/trunks', { key: t.keys.admin, body: { id: 'main', address: '127.0.0.1:5999', numbers: ['+14155550100'], maxCallsPerSecond: 1, maxChannels: 1 } });
      const body = { to: '+14155550131', trunkId: 'main', agent: { instructions: 'Help.', greeting: 'Hi there' }, contact: { timeZone: 'America/Chicago', consent: true } };
      const started = Date.now();
      const first = await stalled.request('POST', '/v1/calls', { key: t.keys.operator, body, headers: { 'idempotency-key': 'call-1' } });
      assert.equal(first.status, 503, first.text);
      assert.equal((first.body as { type: string }).type, 'https://kickcall.dev/problems/orchestration-unavailable');
      assert.equal(first.headers.get('retry-after'), '1');
      assert.ok(Date.now() - started < 10_000, 'answered within the deadline, not hung');

      // Temporal is back: the same request under the same key is served, as one call.
      const again = await api.request('POST', '/v1/calls', { key: t.keys.operator, body, headers: { 'idempotency-key': 'call-1' } });
      assert.equal(again.status, 201, again.text);
      const id = (again.body as { id: string }).id;
      const repeat = await api.request('POST', '/v1/calls', { key: t.keys.operator, body, headers: { 'idempotency-key': 'call-1' } });
      assert.equal((repeat.body as { id: string }).id, id, 'the key names one call');
      await temporal.workflow.getHandle(id).terminate('test over').catch(() => undefined);

      // A start Temporal applied though its answer came too late: the key was freed, and the
      // retry finds its own call by the request in the workflow's memo.
      const withRef = { ...body, contact: { ...body.contact, reference: 'crm-77' } };
      const placed = await api.request('POST', '/v1/calls', { key: t.keys.operator, body: withRef, headers: { 'idempotency-key': 'call-2' } });
      assert.equal(placed.status, 201, placed.text);
      await withTenant(api.db, t.tenantId, (tx) => tx.deleteFrom('idempotency_keys').where('key', '=', 'call-2').execute());
      const retried = await api.request('POST', '/v1/calls', { key: t.keys.operator, body: withRef, headers: { 'idempotency-key': 'call-2' } });
      assert.equal(retried.status, 201, retried.text);
      assert.equal((retried.body as { id: string }).id, (placed.body as { id: string }).id);
      // Another request for the same contact is a conflict, as before.
      const other = await api.request('POST', '/v1/calls', { key: t.keys.operator, body: withRef, headers: { 'idempotency-key': 'call-3' } });
      assert.equal(other.status, 409);
      // A key reused (after its record expired) with another body names another call.
      await withTenant(api.db, t.tenantId, (tx) => tx.deleteFrom('idempotency_keys').where('key', '=', 'call-1').execute());
      const reused = await api.request('POST', '/v1/calls', { key: t.keys.operator, body: { ...body, to: '+14155550132' }, headers: { 'idempotency-key': 'call-1' } });
      assert.equal(reused.status, 201, reused.text);
      assert.notEqual((reused.body as { id: string }).id, id, 'not silently the old call');
      for (const r of [placed, reused]) await temporal.workflow.getHandle((r.body as { id: string }).id).terminate('test over').catch(() => undefined);
    } finally {
      await stalled.close();
      silent.close();
      silent.closeAllConnections();
    }
  });
});

describe('personal data in URLs', () => {
  test('the do-not-call list pages with cursors that carry no phone number', async () => {
    const t = await api.newTenant();
    const numbers = ['+14155550161', '+14155550162', '+14155550163'];
    for (const phone of numbers) assert.equal((await api.request('POST', '/v1/do-not-call', { key: t.keys.operator, body: { phone } })).status, 201);
    const first = await api.request('GET', '/v1/do-not-call?limit=2', { key: t.keys.viewer });
    const page1 = first.body as { items: { phone: string }[]; nextCursor: string };
    assert.equal(page1.items.length, 2);
    const decoded = Buffer.from(page1.nextCursor, 'base64url').toString('utf8');
    assert.doesNotMatch(decoded, /4155550|\+1/, 'the cursor holds no number');
    const second = await api.request('GET', `/v1/do-not-call?limit=2&cursor=${page1.nextCursor}`, { key: t.keys.viewer });
    const page2 = second.body as { items: { phone: string }[]; nextCursor: string | null };
    assert.equal(page2.nextCursor, null);
    assert.deepEqual([...page1.items, ...page2.items].map((e) => e.phone).sort(), numbers, 'every entry once, across the pages');
    // A cursor naming a number (as this API once wrote them) is not one it issues now.
    const old = Buffer.from(JSON.stringify({ at: new Date().toISOString(), id: '+14155550162' })).toString('base64url');
    assert.equal((await api.request('GET', `/v1/do-not-call?cursor=${old}`, { key: t.keys.viewer })).status, 400);
  });
});

describe('rate limits', () => {
  test('per key and per tenant: 429 with Retry-After, then served again', async () => {
    const limited = await startApi({ temporal, rateLimits: { perKeyPerSecond: 5, perTenantPerSecond: 8 } });
    try {
      const t = await limited.newTenant();
      const burst = (key: string, n: number) => Promise.all(Array.from({ length: n }, () => limited.request('GET', '/v1/agents', { key })));
      const oneKey = await burst(t.keys.viewer, 20);
      const ok = oneKey.filter((r) => r.status === 200).length;
      const limitedResponses = oneKey.filter((r) => r.status === 429);
      // A burst may straddle a window boundary: at most two windows' worth get through.
      assert.ok(ok >= 1 && ok <= 10, `${ok} served`);
      assert.ok(limitedResponses.length >= 10);
      for (const r of limitedResponses) {
        assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        assert.equal((r.body as { type: string }).type, 'https://kickcall.dev/problems/rate-limited');
      }
      await new Promise((r) => setTimeout(r, 1100));
      // Two keys of one tenant share the tenant's 8 per second.
      const both = await Promise.all([burst(t.keys.viewer, 10), burst(t.keys.admin, 10)]);
      const served = both.flat().filter((r) => r.status === 200).length;
      assert.ok(served <= 16, `${served} served across two keys`);
      assert.ok(both.flat().some((r) => r.status === 429 && /tenant/.test((r.body as { detail: string }).detail)), 'the tenant limit is named');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await limited.request('GET', '/v1/agents', { key: t.keys.viewer })).status, 200);
      // Another tenant is not slowed by this one.
      const other = await limited.newTenant();
      assert.equal((await limited.request('GET', '/v1/agents', { key: other.keys.viewer })).status, 200);
    } finally {
      await limited.close();
    }
  });
});

/** Inbound routing: which trunk and rule take a call, the room it lands in and who the caller is there. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InboundRouteConflictError, InvalidRequestError } from '../../media/sip-gateway/errors.js';
import { inboundAttributes } from '../../media/sip-gateway/inbound-bridged-call.js';
import { InboundRoutes, dialledNumber, inboundCallerIdentity } from '../../media/sip-gateway/inbound-routing.js';
import { dispatchRuleSchema, inboundTrunkSchema } from '../../media/sip-gateway/schemas.js';

test('a call is routed by dialled number and source address to its tenant’s room', () => {
  const routes = new InboundRoutes();
  routes.upsertTrunk(inboundTrunkSchema.parse({ trunkId: 't1', tenantId: 'acme', numbers: ['+15550100200'], allowedAddresses: ['127.0.0.1'] }));
  assert.deepEqual(routes.match('+15550100200', '127.0.0.1'), { ok: false, reason: 'no_rule' });
  routes.upsertRule(dispatchRuleSchema.parse({ ruleId: 'r1', trunkIds: ['t1'], metadata: '{"tenantId":"acme"}' }));
  const m = routes.match('+15550100200', '127.0.0.1');
  assert.ok(m.ok);
  assert.match(m.roomName, /^call_inbound_acme_[0-9a-f]{16}$/);
  assert.ok(!m.roomName.includes('5550100200'), 'the number never names the room');
  assert.equal(m.rule.metadata, '{"tenantId":"acme"}');
  assert.deepEqual(routes.match('+15550100200', '10.0.0.9'), { ok: false, reason: 'no_trunk' }, 'source not allowed');
  assert.deepEqual(routes.match('+15550100201', '127.0.0.1'), { ok: false, reason: 'no_trunk' });
  assert.ok(routes.deleteRule('r1'));
  assert.deepEqual(routes.match('+15550100200', '127.0.0.1'), { ok: false, reason: 'no_rule' });
});

test('dialled numbers normalise to E.164; bad trunks and rules are refused', () => {
  assert.equal(dialledNumber('15550100200'), '+15550100200');
  assert.equal(dialledNumber('+1 (555) 010-0200'), '+15550100200');
  assert.equal(inboundTrunkSchema.safeParse({ trunkId: 't', tenantId: 'acme', numbers: ['555'] }).success, false);
  assert.equal(inboundTrunkSchema.safeParse({ trunkId: 't', tenantId: 'a_b', numbers: ['+15550100200'] }).success, false);
  assert.equal(dispatchRuleSchema.safeParse({ ruleId: 'r', trunkIds: [] }).success, false);
});

test('dialled numbers: URI parameters and visual separators go, anything not a number stays as it is', () => {
  assert.equal(dialledNumber('+15550100200;phone-context=+1'), '+15550100200');
  assert.equal(dialledNumber('%2B15550100200'), '+15550100200');
  assert.equal(dialledNumber('kickcall'), 'kickcall');
  assert.equal(dialledNumber('%E0%A4%A'), '%E0%A4%A');
  assert.equal(dialledNumber(''), '');
});

test('allowed addresses: single IPs and CIDR blocks, IPv4 and IPv6; a restricted trunk wins over an open one', () => {
  const routes = new InboundRoutes();
  routes.upsertTrunk(inboundTrunkSchema.parse({ trunkId: 'open', tenantId: 'acme', numbers: ['+15550100200'] }));
  routes.upsertTrunk(inboundTrunkSchema.parse({ trunkId: 'carrier', tenantId: 'acme', numbers: ['+15550100200'], allowedAddresses: ['10.1.0.0/16', '2001:db8::/32', '192.0.2.7'] }));
  routes.upsertRule(dispatchRuleSchema.parse({ ruleId: 'r-open', trunkIds: ['open'] }));
  routes.upsertRule(dispatchRuleSchema.parse({ ruleId: 'r-carrier', trunkIds: ['carrier'] }));
  const trunkOf = (source: string) => {
    const m = routes.match('+15550100200', source);
    return m.ok ? m.trunk.trunkId : m.reason;
  };
  assert.equal(trunkOf('10.1.200.3'), 'carrier');
  assert.equal(trunkOf('2001:db8:1::5'), 'carrier');
  assert.equal(trunkOf('192.0.2.7'), 'carrier');
  assert.equal(trunkOf('::ffff:10.1.0.9'), 'carrier', 'an IPv4-mapped source (udp6 socket) matches its IPv4 block');
  assert.equal(trunkOf('10.2.0.1'), 'open');
  routes.deleteTrunk('open');
  assert.equal(trunkOf('10.2.0.1'), 'no_trunk');
  assert.equal(inboundTrunkSchema.safeParse({ trunkId: 't', tenantId: 'acme', numbers: ['+15550100200'], allowedAddresses: ['10.0.0.0/33'] }).success, false);
});

test('ambiguous routes are refused; an upsert by the same ID replaces', () => {
  const routes = new InboundRoutes();
  const trunk = inboundTrunkSchema.parse({ trunkId: 't1', tenantId: 'acme', numbers: ['+15550100200', '+15550100201'] });
  routes.upsertTrunk(trunk);
  routes.upsertTrunk({ ...trunk, numbers: ['+15550100201'] });
  assert.deepEqual(routes.listTrunks().map((t) => t.numbers), [['+15550100201']]);
  assert.throws(() => routes.upsertTrunk({ ...trunk, trunkId: 't2' }), InboundRouteConflictError);
  routes.upsertTrunk({ ...trunk, trunkId: 't3', numbers: ['+15550100202'] });

  const rule = dispatchRuleSchema.parse({ ruleId: 'r1', trunkIds: ['t1'] });
  routes.upsertRule(rule);
  routes.upsertRule({ ...rule, metadata: '{"v":2}' });
  assert.deepEqual(routes.listRules(), [{ ...rule, metadata: '{"v":2}' }]);
  assert.throws(() => routes.upsertRule({ ...rule, ruleId: 'r2', trunkIds: ['t3', 't1'] }), (err: unknown) => {
    assert.ok(err instanceof InboundRouteConflictError);
    assert.match(err.message, /r1.*t1/);
    return true;
  });
});

test('the routes file: loaded whole, or refused whole with the reasons', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kickcall-routes-'));
  const good = path.join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({
    trunks: [{ trunkId: 't1', tenantId: 'acme', numbers: ['+15550100200'] }],
    rules: [{ ruleId: 'r1', trunkIds: ['t1'], metadata: '{"tenantId":"acme"}' }],
  }));
  const routes = await InboundRoutes.fromFile(good);
  const m = routes.match('+15550100200', '127.0.0.1');
  assert.ok(m.ok);
  assert.equal(m.rule.roomPrefix, 'call_inbound');

  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ trunks: [{ trunkId: 't1', tenantId: 'acme', numbers: ['5550100'] }], rules: [] }));
  await assert.rejects(InboundRoutes.fromFile(bad), (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError);
    assert.deepEqual(err.issues, ['trunks.0.numbers.0: expected an E.164 number such as +15550100200']);
    return true;
  });
  writeFileSync(bad, '{ not json');
  await assert.rejects(InboundRoutes.fromFile(bad), InvalidRequestError);
  await assert.rejects(InboundRoutes.fromFile(path.join(dir, 'missing.json')), InvalidRequestError);
});

test('the caller’s participant: a random identity tied to the room, numbers only when the trunk asks', () => {
  const routes = new InboundRoutes();
  const trunk = inboundTrunkSchema.parse({ trunkId: 't1', tenantId: 'acme', numbers: ['+15550100200'] });
  routes.upsertTrunk(trunk);
  routes.upsertRule(dispatchRuleSchema.parse({ ruleId: 'r1', trunkIds: ['t1'] }));
  const m = routes.match('+15550100200', '127.0.0.1');
  assert.ok(m.ok);
  assert.equal(inboundCallerIdentity(m.callToken), `sip_caller_${m.roomName.slice(-16)}`);
  const again = routes.match('+15550100200', '127.0.0.1');
  assert.ok(again.ok && again.roomName !== m.roomName, 'every call gets a room of its own');

  const call = { sipCallId: 'SCL_abcdefghijkl', callIdFull: 'x@y', dialled: '+15550100200', caller: '+15550109999' };
  assert.deepEqual(inboundAttributes(m, call), {
    'sip.callID': 'SCL_abcdefghijkl',
    'sip.callIDFull': 'x@y',
    'sip.callStatus': 'ringing',
    'sip.trunkID': 't1',
    'sip.ruleID': 'r1',
    'sip.direction': 'inbound',
  });
  const withNumbers = inboundAttributes({ ...m, trunk: { ...m.trunk, includeCallerNumber: true } }, call);
  assert.equal(withNumbers['sip.phoneNumber'], '+15550109999');
  assert.equal(withNumbers['sip.trunkPhoneNumber'], '+15550100200');
});

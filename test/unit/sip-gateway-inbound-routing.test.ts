/** Inbound routing: which trunk and rule take a call, and the room it lands in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InboundRoutes, dialledNumber, dispatchRuleSchema, inboundTrunkSchema } from '../../media/sip-gateway/inbound-routing.js';

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

/**
 * Webhook signatures against an independent implementation: the Standard Webhooks
 * reference library (`standardwebhooks`, its own base64 and SHA-256, no node:crypto) and
 * the example vector published with the spec. Whatever Kickcall signs, an integrator's
 * library must accept; whatever is replayed, tampered with or signed with another secret,
 * both sides must refuse.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook, WebhookVerificationError as LibVerificationError } from 'standardwebhooks';
import {
  WebhookHeadersMissingError,
  WebhookSignatureError,
  WebhookTimestampError,
  newWebhookSecret,
  signWebhook,
  verifyWebhook,
  type WebhookHeaders,
} from '../../activities/webhook-signing.js';
import { webhookBody } from '../../activities/webhooks.js';
import { InvalidInputError } from '../../workflows/errors.js';
import { webhookDeliveryWorkflowId } from '../../workflows/webhook/ids.js';

const nowS = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ id: 'outbound_t1_direct_c1_1:call.ended', type: 'call.ended', occurredAt: '2026-01-01T00:00:00.000Z', data: { disposition: 'completed' } });

/** The reference library verifies headers as a plain record (it throws on failure). */
function libVerify(secret: string, headers: WebhookHeaders, payload: string): void {
  new Webhook(secret).verify(payload, { ...headers }, { jsonParse: false });
}

test('the spec example vector: the same signature as published', () => {
  const headers = signWebhook({
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestampS: 1614265330,
    body: '{"test": 2432232314}',
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  });
  assert.equal(headers['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  assert.equal(headers['webhook-timestamp'], '1614265330');
  assert.equal(headers['webhook-id'], 'msg_p5jXN8AQM9LWM0D4loKWxJek');
});

test('what Kickcall signs, the reference library verifies; what it signs, Kickcall verifies', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, '32 random bytes in base64');
  const headers = signWebhook({ id: 'evt-1', timestampS: nowS(), body, secrets: [secret] });
  libVerify(secret, headers, body);

  const ts = new Date();
  const libSignature = new Webhook(secret).sign('evt-2', ts, body);
  const libHeaders = { 'webhook-id': 'evt-2', 'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)), 'webhook-signature': libSignature };
  assert.deepEqual(verifyWebhook({ secrets: [secret], headers: libHeaders, body }), { id: 'evt-2', timestampS: Math.floor(ts.getTime() / 1000) });
  // Header names are case-insensitive; a fetch Headers object works as well.
  verifyWebhook({ secrets: [secret], headers: { 'Webhook-Id': 'evt-2', 'WEBHOOK-TIMESTAMP': libHeaders['webhook-timestamp'], 'webhook-signature': libSignature }, body });
  verifyWebhook({ secrets: [secret], headers: new Headers(libHeaders), body });
});

test('a replayed message (timestamp beyond the tolerance) is refused; so is one from the future', () => {
  const secret = newWebhookSecret();
  const old = signWebhook({ id: 'evt-1', timestampS: nowS() - 301, body, secrets: [secret] });
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: old, body }), (err: unknown) => err instanceof WebhookTimestampError && err.reason === 'timestamp_too_old');
  assert.throws(() => libVerify(secret, old, body), LibVerificationError);
  // Within the tolerance it passes; a tolerance of the receiver's own choosing applies.
  verifyWebhook({ secrets: [secret], headers: old, body, toleranceS: 600 });

  const future = signWebhook({ id: 'evt-1', timestampS: nowS() + 400, body, secrets: [secret] });
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: future, body }), (err: unknown) => err instanceof WebhookTimestampError && err.reason === 'timestamp_too_new');
  assert.throws(() => libVerify(secret, future, body), LibVerificationError);

  // A fixed clock, for receivers that pass their own.
  const fixed = signWebhook({ id: 'evt-1', timestampS: 1_000_000, body, secrets: [secret] });
  verifyWebhook({ secrets: [secret], headers: fixed, body, nowS: 1_000_300 });
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: fixed, body, nowS: 1_000_301 }), WebhookTimestampError);
});

test('a tampered body, a changed ID or timestamp, and the wrong secret are refused', () => {
  const secret = newWebhookSecret();
  const headers = signWebhook({ id: 'evt-1', timestampS: nowS(), body, secrets: [secret] });
  const tampered = body.replace('completed', 'failed');
  assert.throws(() => verifyWebhook({ secrets: [secret], headers, body: tampered }), WebhookSignatureError);
  assert.throws(() => libVerify(secret, headers, tampered), LibVerificationError);

  assert.throws(() => verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-id': 'evt-2' }, body }), WebhookSignatureError);
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }, body }), WebhookSignatureError);
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-timestamp': 'soon' }, body }), WebhookSignatureError);

  const other = newWebhookSecret();
  assert.throws(() => verifyWebhook({ secrets: [other], headers, body }), (err: unknown) => err instanceof WebhookSignatureError && err.reason === 'bad_signature' && !err.retryable);
  assert.throws(() => libVerify(other, headers, body), LibVerificationError);
  // Another version's signature, or garbage, never counts.
  const sig = headers['webhook-signature'].slice(3);
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: { ...headers, 'webhook-signature': `v2,${sig} v1 garbage` }, body }), WebhookSignatureError);
});

test('missing headers are named', () => {
  const secret = newWebhookSecret();
  const headers: Partial<WebhookHeaders> = signWebhook({ id: 'evt-1', timestampS: nowS(), body, secrets: [secret] });
  delete headers['webhook-signature'];
  assert.throws(
    () => verifyWebhook({ secrets: [secret], headers, body }),
    (err: unknown) => err instanceof WebhookHeadersMissingError && err.reason === 'missing_headers' && err.missing.join() === 'webhook-signature',
  );
  assert.throws(() => verifyWebhook({ secrets: [secret], headers: {}, body }), (err: unknown) => err instanceof WebhookHeadersMissingError && err.missing.length === 3);
});

test('rotation: during the overlap both secrets sign, and either verifies alone', () => {
  const previous = newWebhookSecret();
  const current = newWebhookSecret();
  const headers = signWebhook({ id: 'evt-1', timestampS: nowS(), body, secrets: [current, previous] });
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  assert.ok(headers['webhook-signature'].split(' ').every((s) => s.startsWith('v1,')));
  for (const secret of [current, previous]) {
    libVerify(secret, headers, body);
    verifyWebhook({ secrets: [secret], headers, body });
  }
  verifyWebhook({ secrets: [previous, current], headers, body });
  // After the overlap only the current secret signs: a receiver still on the old one fails.
  const after = signWebhook({ id: 'evt-1', timestampS: nowS(), body, secrets: [current] });
  assert.throws(() => libVerify(previous, after, body), LibVerificationError);
  assert.throws(() => verifyWebhook({ secrets: [previous], headers: after, body }), WebhookSignatureError);
});

test('bad secrets and inputs are refused when signing', () => {
  assert.throws(() => signWebhook({ id: 'e', timestampS: nowS(), body, secrets: [] }), /at least one/);
  assert.throws(() => signWebhook({ id: 'e', timestampS: nowS(), body, secrets: ['whsec_not base64!'] }), /base64/);
  assert.throws(() => signWebhook({ id: 'e', timestampS: 1.5, body, secrets: [newWebhookSecret()] }), /unix seconds/);
});

test('the webhook body is the same bytes whatever the order of the payload keys', () => {
  const occurredAt = new Date('2026-03-01T12:00:00.123Z');
  const a = webhookBody({ id: 'c1:call.ended', type: 'call.ended', occurredAt, payload: { b: 1, a: { y: [2, { d: 1, c: 0 }], x: null } } });
  const b = webhookBody({ id: 'c1:call.ended', type: 'call.ended', occurredAt, payload: { a: { x: null, y: [2, { c: 0, d: 1 }] }, b: 1 } });
  assert.equal(a, b);
  assert.equal(a, '{"id":"c1:call.ended","type":"call.ended","occurredAt":"2026-03-01T12:00:00.123Z","data":{"a":{"x":null,"y":[2,{"c":0,"d":1}]},"b":1}}');
});

test('the delivery workflow ID names the endpoint and the event, and refuses what would make it ambiguous', () => {
  assert.equal(webhookDeliveryWorkflowId('we-1a2b', 'outbound_t1_direct_c1_1:call.ended'), 'webhook_we-1a2b:outbound_t1_direct_c1_1:call.ended');
  assert.throws(() => webhookDeliveryWorkflowId('we:1', 'e'), InvalidInputError);
  assert.throws(() => webhookDeliveryWorkflowId('', 'e'), InvalidInputError);
  assert.throws(() => webhookDeliveryWorkflowId('we-1', ''), InvalidInputError);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toApplicationFailure, withErrorTaxonomy } from '../../activities/error-taxonomy.js';
import { createTelephonyActivities } from '../../activities/telephony.js';
import { SipCallNotActiveError, SipParticipantNotFoundError } from '../../media/sip-gateway/errors.js';
import { FailureType, InvalidInputError, SipCallError, SipNoAnswerError, failureTypeForSipStatus } from '../../workflows/errors.js';
import { calleeIdentityFor, roomNameFor } from '../../workflows/ids.js';

test('SIP final statuses map to the call outcomes the workflow decides on', () => {
  assert.equal(failureTypeForSipStatus(486), FailureType.SipBusy);
  assert.equal(failureTypeForSipStatus(600), FailureType.SipBusy);
  assert.equal(failureTypeForSipStatus(480), FailureType.SipNoAnswer);
  assert.equal(failureTypeForSipStatus(603), FailureType.SipRejected);
  assert.equal(failureTypeForSipStatus(404), FailureType.SipRejected);
  assert.equal(failureTypeForSipStatus(503), FailureType.SipFailed);
});

test('only carrier failures are retryable', () => {
  assert.equal(new SipCallError(503, 'Service Unavailable').retryable, true);
  assert.equal(new SipCallError(486, 'Busy Here').retryable, false);
  assert.equal(new SipNoAnswerError(20_000).retryable, false);
});

test('taxonomy errors become typed ApplicationFailures carrying the SIP status', () => {
  const busy = toApplicationFailure(new SipCallError(486, 'Busy Here'));
  assert.ok(busy instanceof ApplicationFailure);
  assert.equal(busy.type, FailureType.SipBusy);
  assert.equal(busy.nonRetryable, true);
  assert.deepEqual(busy.details, [{ sipStatusCode: 486 }]);
  const failed = toApplicationFailure(new SipCallError(502, 'Bad Gateway'));
  assert.ok(failed instanceof ApplicationFailure && failed.nonRetryable === false);
  const other = new Error('boom');
  assert.equal(toApplicationFailure(other), other, 'errors outside the taxonomy pass through');
});

test('room and participant names derive from the workflow ID and stay LiveKit-safe', () => {
  assert.equal(roomNameFor('acme/camp-1/contact-9/attempt-2'), 'call_acme_camp-1_contact-9_attempt-2');
  assert.equal(roomNameFor('x'), roomNameFor('x'), 'deterministic');
  assert.match(calleeIdentityFor('acme/c/1', 2), /^sip_callee_2_acme_c_1$/);
  assert.ok(calleeIdentityFor('a'.repeat(300)).length <= 128);
});

test('a transfer whose callee already hung up is a failed transfer, not a fault that fails the call', async () => {
  for (const gone of [new SipParticipantNotFoundError(), new SipCallNotActiveError('ended')]) {
    const telephony = createTelephonyActivities({
      rooms: { createRoom: () => Promise.reject(new Error('unused')), deleteRoom: () => Promise.resolve() },
      dialer: { dial: () => Promise.reject(new Error('unused')), transfer: () => Promise.reject(gone) },
    });
    await assert.rejects(telephony.transferCallee({ roomName: 'r', participantIdentity: 'callee', transferTo: 'sip:desk@127.0.0.1' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.TransferFailed);
      assert.equal(err.nonRetryable, true);
      return true;
    });
  }
});

test('every orchestration activity reaches the workflow typed: Kickcall errors become failures, the rest pass through', async () => {
  const activities = withErrorTaxonomy({
    signs: () => Promise.reject(new InvalidInputError('a webhook secret must not be empty')),
    breaks: () => Promise.reject(new Error('socket hang up')),
    works: (n: number) => Promise.resolve(n * 2),
  });
  await assert.rejects(activities.signs(), (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.InvalidInput && err.nonRetryable === true);
  await assert.rejects(activities.breaks(), (err: unknown) => !(err instanceof ApplicationFailure) && /socket hang up/.test(String(err)), 'not in the taxonomy: left to the retry policy');
  assert.equal(await activities.works(21), 42);
});

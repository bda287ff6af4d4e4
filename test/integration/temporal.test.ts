/**
 * Temporal (real dev server): the smoke-call workflow and its activities round-trip
 * through the server. The activity factory is the real one; only the clients it is
 * given (LiveKit's room API and the SIP dialer) are fakes that record what was asked.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { createTelephonyActivities, type DialRequest, type SipDialer } from '../../activities/telephony.js';
import { SipCallError } from '../../workflows/errors.js';
import { smokeCallWorkflow } from '../../workflows/smoke-call.js';
import { uniqueName } from '../helpers/env.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

let client: Client;
let close: () => Promise<void>;
before(async () => ({ client, close } = await temporalClient()));
after(() => close());

function fakeClients(dial: (r: DialRequest) => Promise<{ participantIdentity: string; sipCallId: string }>) {
  const log: string[] = [];
  const rooms = {
    createRoom: ({ name }: { name: string }) => (log.push(`createRoom ${name}`), Promise.resolve({} as never)),
    deleteRoom: (name: string) => (log.push(`deleteRoom ${name}`), Promise.resolve()),
  };
  const dialer: SipDialer = {
    dial: (r) => (log.push(`dial ${r.participantIdentity}`), dial(r)),
    transfer: (r) => (log.push(`transfer ${r.participantIdentity}`), Promise.resolve()),
  };
  return { log, activities: createTelephonyActivities({ rooms, dialer }) };
}

const input = { trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] }, callTo: '+15550100001', holdMs: 50 };

test('an answered smoke call runs create room → dial → hang up and reports it', async () => {
  const { log, activities } = fakeClients((r) => Promise.resolve({ participantIdentity: r.participantIdentity, sipCallId: 'SCL_test' }));
  const workflowId = uniqueName('smoke-answered');
  const result = await withWorker(activities, (taskQueue) =>
    client.workflow.execute(smokeCallWorkflow, { workflowId, taskQueue, args: [input] }),
  );

  assert.equal(result.disposition, 'answered');
  assert.equal(result.sipCallId, 'SCL_test');
  assert.equal(result.heldMs, 50);
  assert.equal(result.roomName, `call_${workflowId}`);
  assert.deepEqual(log, [`createRoom call_${workflowId}`, `dial sip_callee_1_${workflowId}`, `deleteRoom call_${workflowId}`]);

  // The history shows the steps an engineer reads in the Temporal UI.
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const activityTypes = (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => n !== undefined);
  assert.deepEqual(activityTypes, ['createRoom', 'dialCallee', 'hangUp']);
});

test('a busy callee becomes disposition busy without retrying the dial, and the room is still cleaned up', async () => {
  const { log, activities } = fakeClients(() => Promise.reject(new SipCallError(486, 'Busy Here')));
  const workflowId = uniqueName('smoke-busy');
  const result = await withWorker(activities, (taskQueue) =>
    client.workflow.execute(smokeCallWorkflow, { workflowId, taskQueue, args: [input] }),
  );

  assert.equal(result.disposition, 'busy');
  assert.equal(result.sipStatusCode, 486);
  assert.equal(log.filter((l) => l.startsWith('dial')).length, 1, 'a busy line is not redialled by activity retries');
  assert.equal(log.at(-1), `deleteRoom call_${workflowId}`);
});

test('a carrier failure (503) is retried by the activity policy, then reported as failed', async () => {
  const { log, activities } = fakeClients(() => Promise.reject(new SipCallError(503, 'Service Unavailable')));
  const workflowId = uniqueName('smoke-failed');
  const result = await withWorker(activities, (taskQueue) =>
    client.workflow.execute(smokeCallWorkflow, { workflowId, taskQueue, args: [input] }),
  );

  assert.equal(result.disposition, 'failed');
  assert.equal(result.sipStatusCode, 503);
  assert.equal(log.filter((l) => l.startsWith('dial')).length, 3, 'retryable failures use all three attempts');
});

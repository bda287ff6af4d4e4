/**
 * The whole dial path, real at every step: the smoke-call workflow on the Temporal dev
 * server, the real telephony activities, the stack's SIP gateway, and SIPp as the callee
 * over SIP/RTP on loopback. LiveKit sees the callee join the call's room.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { RoomServiceClient } from 'livekit-server-sdk';
import { createTelephonyActivities } from '../../activities/telephony.js';
import { createGatewayDialer } from '../../activities/sip-gateway-dialer.js';
import { startSipp } from '../../deploy/sipp.js';
import { smokeCallWorkflow } from '../../workflows/smoke-call.js';
import { config, uniqueName } from '../helpers/env.js';
import { temporalClient, withWorker } from '../helpers/temporal.js';

const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);
const activities = createTelephonyActivities({ rooms, dialer: createGatewayDialer(config.sip.controlUrl) });
let client: Client;
let close: () => Promise<void>;
before(async () => ({ client, close } = await temporalClient()));
after(() => close());

test('an answered call: the callee joins the room as active, the line is held, then BYE', async () => {
  const sipp = await startSipp({ scenario: 'uas-answer', host: config.host, port: 5080, mediaPort: 16_080, rtpEcho: true, timeoutS: 60 });
  after(() => sipp.stop());
  const workflowId = uniqueName('smoke-sip-answered');
  const statuses = new Set<string>();

  const result = await withWorker(activities, async (taskQueue) => {
    const handle = await client.workflow.start(smokeCallWorkflow, {
      workflowId,
      taskQueue,
      args: [{ trunk: { address: sipp.address, numbers: ['+15550100000'] }, callTo: '+15550100002', ringingTimeoutMs: 10_000, holdMs: 1500 }],
    });
    // Watch the room while the call is up, as an operator would.
    const poll = setInterval(() => {
      rooms
        .listParticipants(`call_${workflowId}`)
        .then((ps) => ps.forEach((p) => p.attributes['sip.callStatus'] && statuses.add(p.attributes['sip.callStatus'])))
        .catch(() => undefined);
    }, 100);
    try {
      return await handle.result();
    } finally {
      clearInterval(poll);
    }
  });

  assert.equal(result.disposition, 'answered');
  assert.match(result.sipCallId ?? '', /^SCL_/);
  assert.ok(statuses.has('active'), `the callee was seen active in the room (saw: ${[...statuses].join(', ')})`);
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, `SIPp's scenario (answer, then BYE from us) completed:\n${verdict.output.slice(-1500)}`);
  // Hang-up deletes the room; listing a deleted room fails, which counts as empty.
  const remaining = await rooms.listParticipants(`call_${workflowId}`).catch(() => []);
  assert.deepEqual(remaining, [], 'nobody is left in the call room after hang-up');
});

test('a busy callee (486) ends as disposition busy, dialled once', async () => {
  const sipp = await startSipp({ scenario: 'uas-busy', host: config.host, port: 5081, mediaPort: 16_082, timeoutS: 30 });
  after(() => sipp.stop());
  const result = await withWorker(activities, (taskQueue) =>
    client.workflow.execute(smokeCallWorkflow, {
      workflowId: uniqueName('smoke-sip-busy'),
      taskQueue,
      args: [{ trunk: { address: sipp.address, numbers: ['+15550100000'] }, callTo: '+15550100003', ringingTimeoutMs: 10_000, holdMs: 500 }],
    }),
  );
  assert.equal(result.disposition, 'busy');
  assert.equal(result.sipStatusCode, 486);
  const verdict = await sipp.exited;
  assert.equal(verdict.code, 0, 'SIPp saw exactly one INVITE, answered it 486 and got the ACK');
});

/**
 * `npm run demo`: brings the stack up and places one real smoke call through it. SIPp
 * plays the callee on loopback; the call goes Temporal workflow → activity → SIP gateway
 * → SIP INVITE → SIPp answers → the callee joins the call's LiveKit room → hang up.
 * Prints what happened and where to read the call's history.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RoomServiceClient } from 'livekit-server-sdk';
import { maskPhone } from './logger.js';
import { startSipp } from './sipp.js';
import { stackUp } from './stack/stack.js';
import { createOrchestrationWorker } from '../workers/orchestration.js';
import { smokeCallWorkflow, type SmokeCallInput } from '../workflows/smoke-call.js';

const say = (line = '') => console.log(line);

// The demo tells its own story; the worker only speaks up when something is wrong.
Runtime.install({ logger: new DefaultLogger('WARN') });

say('Kickcall demo: one smoke call through the real stack\n');
const config = await stackUp((line) => say(line));

// The callee: SIPp answers on its own loopback port and echoes the audio it receives.
const calleePort = 5070;
const sipp = await startSipp({ scenario: 'uas-answer', host: config.host, port: calleePort, mediaPort: 16_070, rtpEcho: true });
const input: SmokeCallInput = {
  trunk: { address: sipp.address, numbers: ['+15550100000'] },
  callTo: '+15550100001',
  ringingTimeoutMs: 15_000,
  holdMs: 4_000,
};
say(`\nCallee: SIPp answering on sip:${sipp.address} (number ${maskPhone(input.callTo)})`);

const taskQueue = `kickcall-demo-${process.pid}`;
const workflowId = `demo-smoke-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
const { worker, close } = await createOrchestrationWorker(config, { taskQueue });
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const rooms = new RoomServiceClient(config.livekit.httpUrl, config.livekit.apiKey, config.livekit.apiSecret);

let exitCode = 0;
try {
  say(`Call workflow ${workflowId} started; dialling...`);
  const result = await worker.runUntil(async () => {
    const handle = await client.workflow.start(smokeCallWorkflow, {
      workflowId,
      taskQueue,
      args: [input],
      staticSummary: 'Demo smoke call',
      staticDetails: 'Dials SIPp on loopback through the SIP gateway, holds the line, hangs up.',
    });
    // While the call is up, show the callee as LiveKit sees it.
    const watcher = watchCallee(rooms, `call_${workflowId}`);
    try {
      return await handle.result();
    } finally {
      watcher.stop();
    }
  });
  const verdict = await Promise.race([sipp.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);

  say('\nWhat happened');
  say(`  disposition      ${result.disposition}${result.sipStatusCode ? ` (SIP ${result.sipStatusCode})` : ''}`);
  if (result.answerAfterMs !== undefined) say(`  answered after   ${result.answerAfterMs} ms`);
  if (result.heldMs !== undefined) say(`  held for         ${result.heldMs} ms, then hung up`);
  if (result.sipCallId) say(`  SIP call ID      ${result.sipCallId}`);
  say(`  LiveKit room     ${result.roomName}`);
  say(`  callee (SIPp)    ${verdict === undefined ? 'still running' : verdict.code === 0 ? 'scenario completed: INVITE answered, BYE received' : `scenario failed (exit ${verdict.code})`}`);
  say('\nWhere to look');
  say(`  Temporal UI      ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
  say(`  stack status     npm run stack:status`);
  say(`  gateway log      npm run stack:logs -- sip-gateway`);
  if (result.disposition !== 'answered' || verdict?.code !== 0) exitCode = 1;
} finally {
  await sipp.stop();
  await connection.close();
  await close();
}
process.exitCode = exitCode;

/** Polls the room for the SIP participant and prints each `sip.callStatus` it moves through. */
function watchCallee(roomService: RoomServiceClient, roomName: string): { stop: () => void } {
  let last = '';
  const timer = setInterval(() => {
    roomService
      .listParticipants(roomName)
      .then((participants) => {
        const callee = participants.find((p) => p.identity.startsWith('sip_callee'));
        const status = callee?.attributes['sip.callStatus'];
        if (status && status !== last) {
          last = status;
          say(`  callee in room: sip.callStatus=${status}`);
        }
      })
      .catch(() => undefined); // the room may not exist yet, or be gone already
  }, 100);
  return { stop: () => clearInterval(timer) };
}

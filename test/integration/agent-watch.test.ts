/**
 * The event bridge's agent watch on real NATS: a call whose control subject loses its
 * last subscriber (the media job's process died) is reported once, within a few probes;
 * an agent that answers, or only answers slowly, is never reported; a call whose agent
 * left is no longer watched.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { callControlSubject } from '../../media/events/subjects.js';
import { startAgentWatch } from '../../workers/agent-watch.js';
import { config, uniqueName } from '../helpers/env.js';

let nc: NatsConnection;
before(async () => {
  nc = await connect({ servers: config.nats.url });
});
after(async () => {
  await nc.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const callId = () => uniqueName('call').replace(/[^a-zA-Z0-9_-]/g, '');

test('a call whose agent stops serving its control subject is reported once; a live, a slow and a departed agent are not', async () => {
  const reports: { callId: string; participantIdentity: string; atMs: number }[] = [];
  const onUnreachable = (id: string, participantIdentity: string) => {
    reports.push({ callId: id, participantIdentity, atMs: Date.now() });
    return Promise.resolve();
  };
  const watch = startAgentWatch({ nc, log: pino({ level: 'silent' }), probeEveryMs: 200, missesToLose: 2, onUnreachable });
  after(() => watch.stop());

  const [dies, lives, slow, leaves] = [callId(), callId(), callId(), callId()];
  const answer = (id: string, delayMs = 0) =>
    nc.subscribe(callControlSubject(id), { callback: (_err, msg) => void sleep(delayMs).then(() => msg.respond(JSON.stringify({ ok: true }))) });
  const dying = answer(dies);
  answer(lives);
  // Answers after the ping's timeout: slow, not gone.
  answer(slow, 1_500);
  watch.watch(dies, 'agent-dies', 1);
  watch.watch(lives, 'agent-lives', 1);
  watch.watch(slow, 'agent-slow', 1);
  watch.watch(leaves, 'agent-leaves', 1);
  // The agent left (its agent.left at seq 9): its subject has no subscriber, and that is no loss.
  watch.forget(leaves, 9);
  // A redelivered event older than the join does not stop the watch.
  watch.forget(dies, 0);

  await sleep(1_000);
  assert.equal(reports.length, 0, 'nothing is lost while every watched agent answers');
  await nc.flush();
  const diedAtMs = Date.now();
  dying.unsubscribe();
  await sleep(2_000);
  assert.deepEqual(reports.map((r) => [r.callId, r.participantIdentity]), [[dies, 'agent-dies']], 'only the agent whose subject lost its subscriber, once');
  assert.ok(reports[0]!.atMs - diedAtMs < 1_000, `reported ${reports[0]!.atMs - diedAtMs} ms after the subscriber went (two probes 200 ms apart)`);
  assert.equal(watch.size, 2, 'the lost agent is no longer watched; the live and the slow ones are');
});

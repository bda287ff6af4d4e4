/**
 * The agent's control channel over real NATS, against a stand-in for the LiveKit session:
 * a command retried under the same ID (its activity timed out while the agent was still
 * speaking) is carried out once and both requests get its outcome.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { serveControl, type ControlTarget } from '../../media/agent/control.js';
import { controlReplySchema } from '../../media/events/schema.js';
import { callControlSubject, controlCommandIdHeader } from '../../media/events/subjects.js';
import { config, uniqueName } from '../helpers/env.js';

let nc: NatsConnection;
before(async () => {
  nc = await connect({ servers: config.nats.url });
});
after(() => nc.close());

/** A session that records what it was asked to say; each line takes `playoutMs` to play. */
function standIn(playoutMs: number) {
  const said: string[] = [];
  const target = {
    session: {
      say: (text: string) => {
        said.push(text);
        return { waitForPlayout: () => new Promise<void>((resolve) => setTimeout(resolve, playoutMs)) };
      },
    },
    agent: { updateInstructions: () => Promise.resolve() },
    hangup: () => undefined,
  } as unknown as ControlTarget;
  return { said, target };
}

async function send(callId: string, command: unknown, commandId?: string) {
  const h = headers();
  if (commandId) h.set(controlCommandIdHeader, commandId);
  const reply = await nc.request(callControlSubject(callId), typeof command === 'string' ? command : JSON.stringify(command), { timeout: 5_000, headers: h });
  return controlReplySchema.parse(reply.json());
}

test('a command retried under its ID is carried out once; both requests get its outcome', async () => {
  const callId = uniqueName('ctl').replaceAll('-', '_');
  const { said, target } = standIn(300);
  const sub = serveControl(nc, callId, target, pino({ level: 'silent' }));
  try {
    await nc.flush();
    const notice = { command: 'transfer_notice', text: 'Connecting you now.' };
    // The retry arrives while the first is still being spoken.
    const [first, retry] = await Promise.all([send(callId, notice, 'run-1:7'), new Promise((r) => setTimeout(r, 100)).then(() => send(callId, notice, 'run-1:7'))]);
    assert.deepEqual([first, retry], [{ ok: true }, { ok: true }]);
    assert.deepEqual(said, ['Connecting you now.'], 'spoken once');
    // A later retry of a finished command is answered from memory.
    assert.deepEqual(await send(callId, notice, 'run-1:7'), { ok: true });
    assert.equal(said.length, 1);
    // Another command, or one sent without an ID, is carried out.
    await send(callId, { command: 'say', text: 'Still there?' }, 'run-1:8');
    await send(callId, { command: 'say', text: 'Still there?' });
    assert.deepEqual(said, ['Connecting you now.', 'Still there?', 'Still there?']);
    // A bad command is refused, clearly, and so is its retry.
    assert.deepEqual(await send(callId, '{not json', 'run-1:9'), { ok: false, error: 'command is not JSON' });
    assert.deepEqual(await send(callId, '{not json', 'run-1:9'), { ok: false, error: 'command is not JSON' });
    const unknown = await send(callId, { command: 'dance' }, 'run-1:10');
    assert.equal(unknown.ok, false);
  } finally {
    sub.unsubscribe();
  }
});

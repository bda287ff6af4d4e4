import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ZodError } from 'zod';
import { callEventSchema, controlCommandSchema, decodeCallEvent, isNewerCallEvent, warmCallEventSchemas } from '../../media/events/schema.js';
import { callControlSubject, callEventMsgId, callEventsSubject } from '../../media/events/subjects.js';

const base = { v: 1, callId: 'acme_camp1_contact9_a1', seq: 3, ts: '2026-11-23T10:00:00.000Z' } as const;

test('each event type validates with its own fields', () => {
  const events = [
    { ...base, type: 'agent.joined', workerId: 'w1', resumed: false },
    { ...base, type: 'user.turn', text: 'hello' },
    { ...base, type: 'agent.turn', text: 'hi there', interrupted: true },
    { ...base, type: 'tool.requested', toolCallId: 't1', name: 'do_not_call', args: {} },
    { ...base, type: 'turn.metrics', eouDelayMs: 310, llmTtftMs: 220, ttsTtfbMs: 140, voiceToVoiceMs: 690 },
    { ...base, type: 'usage', sttAudioS: 12.5, ttsCharacters: 420, llmInputTokens: 900, llmOutputTokens: 120, llmModel: 'gpt-4.1' },
    { ...base, type: 'call.ended', reason: 'caller_hung_up' },
    { ...base, type: 'agent.left', reason: 'drained' },
  ];
  for (const e of events) assert.equal(callEventSchema.parse(e).type, e.type);
});

test('a malformed event is rejected naming the offending field', () => {
  const bad = new TextEncoder().encode(JSON.stringify({ ...base, type: 'agent.turn', text: 'x', interrupted: 'no' }));
  assert.throws(() => decodeCallEvent(bad), (err: unknown) => err instanceof ZodError && err.issues[0]?.path.join('.') === 'interrupted');
  assert.throws(() => callEventSchema.parse({ ...base, v: 2, type: 'call.ended', reason: 'x' }), ZodError, 'unknown versions are refused');
  assert.throws(() => callEventSchema.parse({ ...base, seq: 0, type: 'call.ended', reason: 'x' }), ZodError, 'seq starts at 1');
  assert.throws(() => callEventSchema.parse({ ...base, type: 'tool.requested', toolCallId: 't', name: 'format_disk', args: {} }), ZodError);
});

test('subjects are keyed by call ID and refuse anything that could hold a phone number or a wildcard', () => {
  assert.equal(callEventsSubject('acme_c1'), 'kickcall.calls.acme_c1.events');
  assert.equal(callControlSubject('acme_c1'), 'kickcall.calls.acme_c1.control');
  assert.equal(callEventMsgId('acme_c1', 7), 'acme_c1:7');
  for (const bad of ['+14155550100', 'a.b', 'a*', 'a>', 'a b', '']) assert.throws(() => callEventsSubject(bad), ZodError, bad);
});

test('control commands validate and default what they may', () => {
  assert.deepEqual(controlCommandSchema.parse({ command: 'say', text: 'One moment' }), { command: 'say', text: 'One moment', allowInterruptions: true });
  assert.throws(() => controlCommandSchema.parse({ command: 'say', text: '' }), ZodError);
  assert.throws(() => controlCommandSchema.parse({ command: 'reboot' }), ZodError);
});

test('an event this contract cannot read is told apart: a newer one (left for a newer bridge) from a broken one (dropped)', () => {
  const bytes = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));
  assert.equal(isNewerCallEvent(bytes({ ...base, v: 2, type: 'call.ended', reason: 'x' })), true, 'a later version');
  assert.equal(isNewerCallEvent(bytes({ ...base, type: 'agent.thinking', ms: 12 })), true, 'a type this version does not know');
  assert.equal(isNewerCallEvent(bytes({ ...base, type: 'agent.turn', text: 'x', interrupted: 'no' })), false, 'a known type, broken');
  assert.equal(isNewerCallEvent(bytes({ ...base, v: 0, type: 'call.ended', reason: 'x' })), false);
  assert.equal(isNewerCallEvent(bytes('{not json')), false);
  assert.equal(isNewerCallEvent(bytes('null')), false);
});

test('warming the parsers in prewarm reaches every kind of message and changes no verdict', () => {
  const warmed = warmCallEventSchemas();
  for (const type of ['agent.joined', 'user.turn', 'agent.turn', 'tool.requested', 'turn.metrics', 'usage', 'call.ended', 'agent.left']) {
    assert.ok(warmed.includes(type), `${type} is warmed`);
  }
  for (const command of ['say', 'hangup', 'transfer_notice', 'update_instructions', 'ping']) assert.ok(warmed.includes(command), `${command} is warmed`);
  assert.deepEqual(warmed.filter((kind) => kind.startsWith('ok: ')).sort(), ['ok: false', 'ok: true']);
  assert.equal(callEventSchema.parse({ ...base, type: 'user.turn', text: 'hello' }).type, 'user.turn');
  assert.throws(() => callEventSchema.parse({ ...base, type: 'user.turn' }), ZodError, 'a warmed parser still refuses a turn without text');
  assert.deepEqual(controlCommandSchema.parse({ command: 'say', text: 'one moment' }), { command: 'say', text: 'one moment', allowInterruptions: true }, 'defaults still apply');
});

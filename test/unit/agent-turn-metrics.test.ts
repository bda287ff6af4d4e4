/**
 * A turn's latency as the agent reports it: voice to voice is LiveKit Agents' whole span
 * from the caller's last speech to the agent's first audio (`e2eLatency` on the reply),
 * not the sum of the stages, and a reply that never spoke reports none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { voice, type llm } from '@livekit/agents';
import { reportSessionEvents, type PublishOptions, type Reporter } from '../../media/agent/reporter.js';
import type { CallEventBody } from '../../media/events/schema.js';

type Handler = (ev: unknown) => void;

function fakeSession() {
  const handlers = new Map<string, Handler[]>();
  const session = { on: (event: string, h: Handler) => handlers.set(event, [...(handlers.get(event) ?? []), h]) };
  const emit = (event: string, ev: unknown) => (handlers.get(event) ?? []).forEach((h) => h(ev));
  return { session: session as unknown as voice.AgentSession, emit };
}

function fakeReporter() {
  const published: Array<{ body: CallEventBody; opts?: PublishOptions }> = [];
  const reporter: Reporter = {
    publish: (body, opts) => {
      published.push({ body, ...(opts ? { opts } : {}) });
      return Promise.resolve(true);
    },
    usage: { sttAudioS: 0, ttsCharacters: 0, llmInputTokens: 0, llmOutputTokens: 0 },
    flush: () => Promise.resolve(),
  };
  return { reporter, published };
}

const message = (role: 'user' | 'assistant', text: string, metrics: llm.ChatMessage['metrics'], interrupted = false) =>
  ({ type: 'message', role, textContent: text, interrupted, metrics }) as unknown as llm.ChatMessage;

const added = (item: llm.ChatMessage) => ({ item });

test('turn.metrics follows the reply, with voice to voice from e2eLatency and the stages from both messages', () => {
  const { session, emit } = fakeSession();
  const { reporter, published } = fakeReporter();
  reportSessionEvents(session, reporter);
  const E = voice.AgentSessionEventTypes.ConversationItemAdded;
  emit(E, added(message('user', 'How much does it cost?', { endOfTurnDelay: 0.354, transcriptionDelay: 0.301 })));
  emit(E, added(message('assistant', 'It is free.', { llmNodeTtft: 0.323, ttsNodeTtfb: 0.188, e2eLatency: 1.047, startedSpeakingAt: 1_800_000_000.5 })));
  assert.deepEqual(
    published.map((p) => p.body.type),
    ['user.turn', 'agent.turn', 'turn.metrics'],
  );
  assert.deepEqual(published[2]!.body, { type: 'turn.metrics', eouDelayMs: 354, sttMs: 301, llmTtftMs: 323, ttsTtfbMs: 188, voiceToVoiceMs: 1047 });
  assert.deepEqual(published[2]!.opts, { agentStartedSpeakingAtMs: 1_800_000_000_500 });
});

test('a reply that never spoke, and a second message for the same caller turn, report no latency', () => {
  const { session, emit } = fakeSession();
  const { reporter, published } = fakeReporter();
  reportSessionEvents(session, reporter);
  const E = voice.AgentSessionEventTypes.ConversationItemAdded;
  emit(E, added(message('user', 'Hello?', { endOfTurnDelay: 0.35 })));
  // Interrupted before its first audio: no startedSpeakingAt, no e2eLatency.
  emit(E, added(message('assistant', 'Hi there', { llmNodeTtft: 0.3 }, true)));
  emit(E, added(message('user', 'Put me through to a person.', { endOfTurnDelay: 0.36 })));
  emit(E, added(message('assistant', 'Of course.', { llmNodeTtft: 0.31, ttsNodeTtfb: 0.19, e2eLatency: 1.1, startedSpeakingAt: 1_800_000_001 })));
  // After a tool call the agent speaks again without a new caller turn.
  emit(E, added(message('assistant', 'Connecting you now.', { llmNodeTtft: 0.2, ttsNodeTtfb: 0.15, e2eLatency: 2.5, startedSpeakingAt: 1_800_000_003 })));
  const metrics = published.filter((p) => p.body.type === 'turn.metrics').map((p) => p.body);
  assert.equal(metrics.length, 1);
  assert.equal((metrics[0] as { voiceToVoiceMs: number }).voiceToVoiceMs, 1100);
});

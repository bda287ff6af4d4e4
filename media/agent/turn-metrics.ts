/**
 * A turn's latency as LiveKit Agents measures it, from the turn's two messages: the
 * caller's (end of utterance, transcription delay) and the agent's reply (LLM first token,
 * TTS first byte, and `e2eLatency`: from the caller's last speech to the reply's first
 * audio frame). A leaf with type-only imports, so the media benchmark's bare session
 * measures its turns the same way without loading any of our layer.
 */
import type { llm } from '@livekit/agents';
import type { CallEventBody } from '../events/schema.js';

const toMs = (seconds: number) => Math.round(seconds * 1000);

/** The body of a `turn.metrics` event. */
export type TurnLatency = Extract<CallEventBody, { type: 'turn.metrics' }>;

/**
 * Pairs each reply with the caller's message it answers and measures the turn, once: fed
 * every message of the conversation in order, it returns the turn's latency on the reply
 * that completes it. A second reply (after a tool) has no caller turn of its own. The
 * media benchmark's bare session measures its turns with this too.
 */
export function turnMeasurer(): (item: llm.ChatMessage) => { body: TurnLatency; agentStartedSpeakingAtMs: number } | undefined {
  /** The caller's message the next reply answers. */
  let callerMessage: llm.ChatMessage | undefined;
  return (item) => {
    if ((item.textContent ?? '').trim() === '') return undefined;
    if (item.role === 'user') callerMessage = item;
    if (item.role !== 'assistant') return undefined;
    const measured = turnMetrics(callerMessage, item);
    if (measured) callerMessage = undefined;
    return measured;
  };
}

/**
 * The turn's latency from its two messages (LiveKit Agents reports seconds), or nothing
 * when the reply never spoke (interrupted first) or a stage was not measured.
 */
function turnMetrics(caller: llm.ChatMessage | undefined, reply: llm.ChatMessage): { body: TurnLatency; agentStartedSpeakingAtMs: number } | undefined {
  const u = caller?.metrics;
  const a = reply.metrics;
  if (u?.endOfTurnDelay === undefined || a.e2eLatency === undefined || a.startedSpeakingAt === undefined) return undefined;
  if (a.llmNodeTtft === undefined || a.ttsNodeTtfb === undefined) return undefined;
  if (u.endOfTurnDelay < 0 || a.llmNodeTtft < 0 || a.ttsNodeTtfb < 0 || a.e2eLatency < 0) return undefined;
  return {
    body: {
      type: 'turn.metrics',
      eouDelayMs: toMs(u.endOfTurnDelay),
      ...(u.transcriptionDelay === undefined || u.transcriptionDelay < 0 ? {} : { sttMs: toMs(u.transcriptionDelay) }),
      llmTtftMs: toMs(a.llmNodeTtft),
      ttsTtfbMs: toMs(a.ttsNodeTtfb),
      voiceToVoiceMs: toMs(a.e2eLatency),
    },
    agentStartedSpeakingAtMs: toMs(a.startedSpeakingAt),
  };
}

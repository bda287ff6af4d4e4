/**
 * Turns an AgentSession's events into the call's events on NATS: committed turns, tool
 * requests, per-turn latency, usage and errors. Publishing is serialised so `seq`
 * follows the order things happened in; a failed publish is logged, never thrown into
 * the audio loop.
 */
import { voice, type metrics } from '@livekit/agents';
import { trace, type Context } from '@opentelemetry/api';
import type { Logger } from '../../deploy/logger.js';
import { currentTraceparent, tracer } from '../../deploy/telemetry/tracing.js';
import type { CallEventBody } from '../events/schema.js';
import type { CallEventPublisher } from '../events/publisher.js';
import { turnMeasurer } from './turn-metrics.js';

/** Usage totals for the call, published once when it ends. */
export interface UsageTotals {
  sttAudioS: number;
  ttsCharacters: number;
  llmInputTokens: number;
  llmOutputTokens: number;
}

export interface Reporter {
  /**
   * Queues an event; resolves true once JetStream stored it, false when it could not be
   * stored within the publisher's retries (the failure is logged; its seq stays unused, and
   * the workflow skips the gap).
   */
  publish(body: CallEventBody, opts?: PublishOptions): Promise<boolean>;
  readonly usage: UsageTotals;
  /** Waits until every queued event is published. */
  flush(): Promise<void>;
}

export interface PublishOptions {
  /**
   * For `turn.metrics`, published once the reply is over: when the agent's first audio went
   * out (epoch ms), where the turn's span ends.
   */
  agentStartedSpeakingAtMs?: number;
}

/**
 * @param opts.trace the job's trace context: every event carries it as `traceparent`, and
 *   each measured turn becomes a span of its own (from end of speech to first audio back).
 */
export function createReporter(publisher: CallEventPublisher, log: Logger, opts: { trace?: Context } = {}): Reporter {
  let tail: Promise<void> = Promise.resolve();
  const usage: UsageTotals = { sttAudioS: 0, ttsCharacters: 0, llmInputTokens: 0, llmOutputTokens: 0 };
  const traceparentFor = (body: CallEventBody, publishOpts: PublishOptions): string | undefined => {
    if (!opts.trace) return undefined;
    if (body.type !== 'turn.metrics') return currentTraceparent(opts.trace);
    const end = publishOpts.agentStartedSpeakingAtMs ?? Date.now();
    const span = tracer.startSpan('agent.turn', {
      startTime: end - body.voiceToVoiceMs,
      attributes: {
        'kickcall.turn.eou_delay_ms': body.eouDelayMs,
        'kickcall.turn.llm_ttft_ms': body.llmTtftMs,
        'kickcall.turn.tts_ttfb_ms': body.ttsTtfbMs,
        'kickcall.turn.voice_to_voice_ms': body.voiceToVoiceMs,
      },
    }, opts.trace);
    span.end(end);
    return currentTraceparent(trace.setSpan(opts.trace, span));
  };
  return {
    usage,
    publish(body, publishOpts = {}) {
      const stored = tail.then(async () => {
        try {
          const traceparent = traceparentFor(body, publishOpts);
          const { event, duplicate } = await publisher.publish(body, traceparent ? { traceparent } : {});
          // Expected after a retry whose first ack was lost; otherwise another agent holds this seq.
          if (duplicate) log.warn({ eventType: body.type, seq: event.seq }, 'call event was already stored under its seq');
          return true;
        } catch (err) {
          log.error({ err, eventType: body.type }, 'call event not published');
          return false;
        }
      });
      tail = stored.then(() => undefined);
      return stored;
    },
    flush: () => tail,
  };
}

/**
 * Subscribes the reporter to the session's events. Tool requests are not taken from the
 * session: the tools publish them themselves, before they act.
 *
 * A turn's latency comes from the two messages of the turn, as LiveKit Agents fills them
 * in: the caller's (end of utterance, transcription delay) and the agent's reply (LLM
 * first token, TTS first byte, and `e2eLatency`: from the caller's last speech to the
 * agent's first audio frame). Voice to voice is that whole span, gaps between the stages
 * included, not the sum of the three stages, which left out the time between them (the
 * first sentence being written, the hand-offs). So `turn.metrics` follows the reply's
 * `agent.turn`, once the reply is over.
 */
export function reportSessionEvents(session: voice.AgentSession, reporter: Reporter): void {
  const E = voice.AgentSessionEventTypes;
  const measure = turnMeasurer();

  session.on(E.ConversationItemAdded, ({ item }) => {
    if (item.type !== 'message') return;
    const text = item.textContent ?? '';
    if (item.role === 'user' && text.trim() !== '') void reporter.publish({ type: 'user.turn', text });
    if (item.role === 'assistant' && text.trim() !== '') void reporter.publish({ type: 'agent.turn', text, interrupted: item.interrupted });
    const measured = measure(item);
    if (measured) void reporter.publish(measured.body, { agentStartedSpeakingAtMs: measured.agentStartedSpeakingAtMs });
  });

  session.on(E.MetricsCollected, ({ metrics: m }) => accumulateUsage(reporter.usage, m));

  session.on(E.Error, ({ error }) => {
    void reporter.publish({
      type: 'agent.error',
      code: error.type,
      message: errorMessage('error' in error ? error.error : error),
      retryable: error.recoverable,
    });
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Publishes the call's usage totals (call once, when the call ends). */
export function publishUsage(reporter: Reporter, llmModel: string): Promise<boolean> {
  const u = reporter.usage;
  return reporter.publish({
    type: 'usage',
    sttAudioS: Math.round(u.sttAudioS * 1000) / 1000,
    ttsCharacters: u.ttsCharacters,
    llmInputTokens: u.llmInputTokens,
    llmOutputTokens: u.llmOutputTokens,
    llmModel,
  });
}

function accumulateUsage(u: UsageTotals, m: metrics.AgentMetrics): void {
  if (m.type === 'stt_metrics') u.sttAudioS += m.audioDurationMs / 1000;
  else if (m.type === 'tts_metrics') u.ttsCharacters += m.charactersCount;
  else if (m.type === 'llm_metrics') {
    u.llmInputTokens += m.promptTokens;
    u.llmOutputTokens += m.completionTokens;
  }
}

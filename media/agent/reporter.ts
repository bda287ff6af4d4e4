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
  publish(body: CallEventBody): Promise<boolean>;
  readonly usage: UsageTotals;
  /** Waits until every queued event is published. */
  flush(): Promise<void>;
}

/**
 * @param opts.trace the job's trace context: every event carries it as `traceparent`, and
 *   each measured turn becomes a span of its own (from end of speech to first audio back).
 */
export function createReporter(publisher: CallEventPublisher, log: Logger, opts: { trace?: Context } = {}): Reporter {
  let tail: Promise<void> = Promise.resolve();
  const usage: UsageTotals = { sttAudioS: 0, ttsCharacters: 0, llmInputTokens: 0, llmOutputTokens: 0 };
  const traceparentFor = (body: CallEventBody): string | undefined => {
    if (!opts.trace) return undefined;
    if (body.type !== 'turn.metrics') return currentTraceparent(opts.trace);
    const now = Date.now();
    const span = tracer.startSpan('agent.turn', {
      startTime: now - body.voiceToVoiceMs,
      attributes: {
        'kickcall.turn.eou_delay_ms': body.eouDelayMs,
        'kickcall.turn.llm_ttft_ms': body.llmTtftMs,
        'kickcall.turn.tts_ttfb_ms': body.ttsTtfbMs,
        'kickcall.turn.voice_to_voice_ms': body.voiceToVoiceMs,
      },
    }, opts.trace);
    span.end(now);
    return currentTraceparent(trace.setSpan(opts.trace, span));
  };
  return {
    usage,
    publish(body) {
      const stored = tail.then(async () => {
        try {
          const traceparent = traceparentFor(body);
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

/** Per-turn stage latencies, joined by speech ID as the metrics arrive. */
interface TurnTiming {
  eouDelayMs?: number;
  sttMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
}

/**
 * Subscribes the reporter to the session's events. Tool requests are not taken from the
 * session: the tools publish them themselves, before they act.
 */
export function reportSessionEvents(session: voice.AgentSession, reporter: Reporter): void {
  const E = voice.AgentSessionEventTypes;

  session.on(E.ConversationItemAdded, ({ item }) => {
    if (item.type !== 'message') return;
    const text = item.textContent ?? '';
    if (item.role === 'user' && text.trim() !== '') void reporter.publish({ type: 'user.turn', text });
    if (item.role === 'assistant' && text.trim() !== '') {
      void reporter.publish({ type: 'agent.turn', text, interrupted: item.interrupted });
    }
  });

  const turns = new Map<string, TurnTiming>();
  session.on(E.MetricsCollected, ({ metrics: m }) => {
    accumulateUsage(reporter.usage, m);
    const speechId = 'speechId' in m ? m.speechId : undefined;
    if (!speechId) return;
    const t = turns.get(speechId) ?? {};
    if (m.type === 'eou_metrics') {
      t.eouDelayMs = m.endOfUtteranceDelayMs;
      t.sttMs = m.transcriptionDelayMs;
    } else if (m.type === 'llm_metrics') {
      t.llmTtftMs = m.ttftMs;
    } else if (m.type === 'tts_metrics') {
      t.ttsTtfbMs = m.ttfbMs;
    }
    turns.set(speechId, t);
    // A caller turn is complete once all three stages reported; the greeting has no EOU.
    if (t.eouDelayMs !== undefined && t.llmTtftMs !== undefined && t.ttsTtfbMs !== undefined) {
      turns.delete(speechId);
      // The framework reports -1 for a first token or byte that never came (the turn was
      // interrupted first): that turn has no voice-to-voice time to report.
      if (t.eouDelayMs < 0 || t.llmTtftMs < 0 || t.ttsTtfbMs < 0) return;
      void reporter.publish({
        type: 'turn.metrics',
        eouDelayMs: t.eouDelayMs,
        ...(t.sttMs === undefined || t.sttMs < 0 ? {} : { sttMs: t.sttMs }),
        llmTtftMs: t.llmTtftMs,
        ttsTtfbMs: t.ttsTtfbMs,
        voiceToVoiceMs: t.eouDelayMs + t.llmTtftMs + t.ttsTtfbMs,
      });
    }
  });

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

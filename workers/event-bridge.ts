/**
 * The event bridge: call events from NATS JetStream into call workflows. A durable pull
 * consumer on the call events stream; for each event it writes what belongs in
 * PostgreSQL (turn text, latency metrics, usage) idempotently by (call, seq), signals the
 * call's workflow with the compact event, and acks only after the signal was accepted.
 * Several instances share the same durable consumer; the workflow dedupes and orders by
 * seq, so redelivery and interleaving are safe. It also watches each call's agent
 * (`agent-watch.ts`) so that a media job whose machine died is replaced within seconds.
 *
 *   tsx workers/event-bridge.ts      (SIGTERM/SIGINT: stop pulling, finish the message, close)
 */
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../deploy/nats.js';
import { AckPolicy, DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { ZodError } from 'zod';
import { loadConfig } from '../deploy/config.js';
import { createDb, type Db } from '../deploy/db/schema.js';
import { createLogger, type Logger } from '../deploy/logger.js';
import { ensureCallEventsStream } from '../media/events/publisher.js';
import { decodeCallEvent, isNewerCallEvent, type CallEvent } from '../media/events/schema.js';
import { callEventBridgeDurable, callEventsStream, callEventsSubjects } from '../media/events/subjects.js';
import { agentUnreachableSignal, callEventSignal, type CallEventSignal } from '../workflows/messages.js';
import { startAgentWatch, type AgentWatchOptions } from './agent-watch.js';
import { SpanKind } from '@opentelemetry/api';
import { callCost, defaultPrices, type PriceTable } from '../activities/pricing.js';
import { metrics } from '../deploy/telemetry/metrics.js';
import { startMetricsServer } from '../deploy/telemetry/metrics-server.js';
import { writeAgentNote, writeAnswer, writeCallback } from '../activities/call-records.js';
import { temporalClientInterceptors } from '../deploy/telemetry/temporal-tracing.js';
import { contextFromTraceparent, inSpan, startTracing } from '../deploy/telemetry/tracing.js';


/** The workflow's view of an event: transcript text stays in PostgreSQL. */
export function toSignal(e: CallEvent): CallEventSignal {
  const base = { seq: e.seq, ts: e.ts };
  switch (e.type) {
    case 'agent.joined':
      return { ...base, type: e.type, workerId: e.workerId, resumed: e.resumed, ...(e.participantIdentity ? { participantIdentity: e.participantIdentity } : {}) };
    case 'user.turn':
      return { ...base, type: e.type, chars: e.text.length };
    case 'agent.turn':
      return { ...base, type: e.type, chars: e.text.length, interrupted: e.interrupted };
    case 'tool.requested':
      return { ...base, type: e.type, toolCallId: e.toolCallId, name: e.name, args: withoutFreeText(e.name, e.args) };
    case 'turn.metrics':
    case 'usage':
      return { ...base, type: e.type };
    case 'call.ended':
      return { ...base, type: e.type, reason: e.reason };
    case 'agent.left':
      return { ...base, type: e.type, reason: e.reason };
    case 'agent.error':
      return { ...base, type: e.type, code: e.code, retryable: e.retryable };
  }
}

/**
 * Free text stays in PostgreSQL (`persistEvent`), like the turns, and out of workflow
 * history, which cannot be erased: an answer's value, a callback's time, and the reason
 * the agent gave for a transfer or an end of call (its words often repeat the caller's).
 * The answer's field name is the workflow's.
 */
const freeTextArg: Partial<Record<string, string>> = {
  record_answer: 'value',
  schedule_callback: 'when',
  transfer_to_human: 'reason',
  end_call: 'reason',
};

function withoutFreeText(name: string, args: Record<string, unknown>): Record<string, unknown> {
  const key = freeTextArg[name];
  if (key === undefined) return args;
  const { [key]: _text, ...rest } = args;
  return rest;
}

/** PostgreSQL's foreign-key violation: the call has no row (not started by a workflow). */
const foreignKeyViolation = '23503';

/** Writes the event's durable part; a call without a row (no workflow) is skipped. */
export async function persistEvent(db: Db, e: CallEvent): Promise<void> {
  try {
    switch (e.type) {
      case 'tool.requested':
        if ((e.name === 'transfer_to_human' || e.name === 'end_call') && typeof e.args.reason === 'string' && e.args.reason.trim()) {
          await writeAgentNote(db, { callId: e.callId, seq: e.seq, tool: e.name, note: e.args.reason });
        }
        if (e.name === 'record_answer' && typeof e.args.field === 'string' && e.args.field && typeof e.args.value === 'string') {
          await writeAnswer(db, { callId: e.callId, seq: e.seq, field: e.args.field, value: e.args.value });
        }
        if (e.name === 'schedule_callback') await writeCallback(db, { callId: e.callId, seq: e.seq, when: typeof e.args.when === 'string' ? e.args.when : '' });
        return;
      case 'user.turn':
      case 'agent.turn':
        await db
          .insertInto('call_turns')
          .values({ call_id: e.callId, seq: e.seq, role: e.type === 'user.turn' ? 'user' : 'agent', text: e.text, interrupted: e.type === 'agent.turn' && e.interrupted, occurred_at: e.ts })
          .onConflict((oc) => oc.columns(['call_id', 'seq']).doNothing())
          .execute();
        return;
      case 'turn.metrics':
        await db
          .insertInto('call_turn_metrics')
          .values({
            call_id: e.callId,
            seq: e.seq,
            eou_delay_ms: e.eouDelayMs,
            stt_ms: e.sttMs ?? null,
            llm_ttft_ms: e.llmTtftMs,
            tts_ttfb_ms: e.ttsTtfbMs,
            voice_to_voice_ms: e.voiceToVoiceMs,
            occurred_at: e.ts,
          })
          .onConflict((oc) => oc.columns(['call_id', 'seq']).doNothing())
          .execute();
        return;
      case 'usage':
        await db
          .insertInto('call_usage')
          .values({
            call_id: e.callId,
            seq: e.seq,
            stt_audio_s: e.sttAudioS,
            tts_characters: e.ttsCharacters,
            llm_input_tokens: e.llmInputTokens,
            llm_output_tokens: e.llmOutputTokens,
            llm_model: e.llmModel,
            occurred_at: e.ts,
          })
          .onConflict((oc) => oc.columns(['call_id', 'seq']).doNothing())
          .execute();
        return;
      default:
        return;
    }
  } catch (err) {
    if ((err as { code?: string }).code === foreignKeyViolation) return;
    throw err;
  }
}

/** Counts a delivered event into the metrics: lag, turn latencies, provider faults, usage and its cost. */
export function observeEvent(e: CallEvent, deliveredAtMs: number, prices: PriceTable = defaultPrices): void {
  metrics.callEvents.inc({ type: e.type });
  metrics.bridgeLag.observe(Math.max(0, deliveredAtMs - Date.parse(e.ts)) / 1000);
  switch (e.type) {
    case 'turn.metrics': {
      const stages = { eou: e.eouDelayMs, stt: e.sttMs, llm_ttft: e.llmTtftMs, tts_ttfb: e.ttsTtfbMs, voice_to_voice: e.voiceToVoiceMs };
      for (const [stage, ms] of Object.entries(stages)) if (ms !== undefined) metrics.turnLatency.observe({ stage }, ms / 1000);
      return;
    }
    case 'agent.error':
      metrics.providerErrors.inc({ code: e.code, retryable: String(e.retryable) });
      return;
    case 'usage': {
      metrics.usageSttAudio.inc(e.sttAudioS);
      metrics.usageTtsCharacters.inc(e.ttsCharacters);
      metrics.usageLlmTokens.inc({ direction: 'input' }, e.llmInputTokens);
      metrics.usageLlmTokens.inc({ direction: 'output' }, e.llmOutputTokens);
      // Connected time is billed by the carrier per call, not from usage events.
      const cost = callCost({ sttAudioS: e.sttAudioS, ttsCharacters: e.ttsCharacters, llm: [{ model: e.llmModel, inputTokens: e.llmInputTokens, outputTokens: e.llmOutputTokens }], connectedS: 0 }, prices);
      metrics.providerCost.inc({ component: 'stt' }, cost.sttUsd);
      metrics.providerCost.inc({ component: 'tts' }, cost.ttsUsd);
      metrics.providerCost.inc({ component: 'llm' }, cost.llmUsd);
      return;
    }
    default:
      return;
  }
}

export interface EventBridgeDeps {
  nc: NatsConnection;
  temporal: Client;
  db: Db;
  log: Logger;
  /** Default `call-event-bridge`; tests use their own. */
  durableName?: string;
  /** Where a new durable consumer starts. Default all stored events. */
  deliverPolicy?: DeliverPolicy;
  /** A new durable consumer starts at this stream sequence instead (a backfill, a benchmark's backlog). */
  startSequence?: number;
  /**
   * For a bridge of a test or the demo: NATS removes its durable consumer once nothing has
   * pulled from it for this long, so their consumers do not pile up on a developer's
   * stream. Unset for the deployed bridge, whose consumer must outlive any outage.
   */
  removeWhenIdleMs?: number;
  /** Prices for the cost counters. Default the price table's defaults. */
  prices?: PriceTable;
  /**
   * Each call's agent is watched from its `agent.joined` until it leaves, and the call's
   * workflow told at once when its process is gone (`workers/agent-watch.ts`). `false`
   * turns that off; an object tunes it.
   */
  agentWatch?: false | Pick<AgentWatchOptions, 'probeEveryMs' | 'missesToLose' | 'reconnectGraceMs'>;
  /**
   * Events handled at once, across calls; one call's events are always handled one after
   * another, in the order the stream holds them. Default `bridgeConcurrency`.
   */
  concurrency?: number;
}

/**
 * Events in hand at once. Each one is a database write and a Temporal signal, two round
 * trips: one at a time the bridge could carry only what their latency allowed, whatever
 * the cores (`bench/results/bridge.md`).
 */
export const bridgeConcurrency = 16;

export interface EventBridge {
  /** Resolves when the bridge has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
  /** Events handled (signalled or skipped) since start. */
  readonly handled: number;
}

/** How long a message may stay unacknowledged before JetStream redelivers it. */
const ackWaitMs = 30_000;

export async function startEventBridge(deps: EventBridgeDeps): Promise<EventBridge> {
  const durable = deps.durableName ?? callEventBridgeDurable;
  const jsm = await ensureCallEventsStream(deps.nc);
  try {
    await jsm.consumers.info(callEventsStream, durable);
  } catch {
    await jsm.consumers.add(callEventsStream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ...(deps.startSequence !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: deps.startSequence }
        : { deliver_policy: deps.deliverPolicy ?? DeliverPolicy.All }),
      filter_subjects: callEventsSubjects,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      ...(deps.removeWhenIdleMs !== undefined ? { inactive_threshold: nanos(deps.removeWhenIdleMs) } : {}),
    });
  }
  const agentWatch =
    deps.agentWatch === false
      ? undefined
      : startAgentWatch({
          nc: deps.nc,
          log: deps.log,
          ...deps.agentWatch,
          onUnreachable: async (callId, participantIdentity) => {
            await deps.temporal.workflow
              .getHandle(callId)
              .signal(agentUnreachableSignal, { participantIdentity })
              .catch((err: unknown) => {
                // The call has ended meanwhile: nothing to replace.
                if (!(err instanceof WorkflowNotFoundError)) throw err;
              });
          },
        });
  // How often, and how many times, an event of a newer contract is offered again while
  // older bridges run: an hour is longer than a rolling deploy; then it is dropped.
  const newerEventRetryMs = 30_000;
  const newerEventOffers = 120;
  const consumer = await jetstream(deps.nc).consumers.get(callEventsStream, durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  let handled = 0;

  const handle = async (m: JsMsg): Promise<void> => {
    let event: CallEvent;
    try {
      event = decodeCallEvent(m.data);
    } catch (err) {
      if (isNewerCallEvent(m.data) && m.info.deliveryCount <= newerEventOffers) {
        // A newer media worker's event (a rolling deploy): a newer bridge will read it.
        deps.log.warn({ subject: m.subject, streamSeq: m.seq }, 'call event of a newer contract left for a bridge that reads it');
        m.nak(newerEventRetryMs);
        return;
      }
      // A message that breaks the contract will never parse: drop it, loudly.
      deps.log.error({ subject: m.subject, streamSeq: m.seq, issues: err instanceof ZodError ? err.issues.length : undefined }, 'invalid call event dropped');
      m.term('invalid call event');
      return;
    }
    try {
      // The media worker's trace continues here and, through the signal's headers, into the workflow.
      const parent = contextFromTraceparent(m.headers?.get('traceparent') || undefined);
      await inSpan(`bridge ${event.type}`, { kind: SpanKind.CONSUMER, parent, attributes: { 'kickcall.call_id': event.callId, 'kickcall.event.seq': event.seq } }, async () => {
        await persistEvent(deps.db, event);
        await deps.temporal.workflow.getHandle(event.callId).signal(callEventSignal, toSignal(event));
      });
      if (event.type === 'agent.joined' && event.participantIdentity) agentWatch?.watch(event.callId, event.participantIdentity, event.seq);
      if (event.type === 'agent.left' || event.type === 'call.ended') agentWatch?.forget(event.callId, event.seq);
      m.ack();
      observeEvent(event, Date.now(), deps.prices);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // No such call workflow, or it has finished: nothing to tell it.
        deps.log.debug({ callId: event.callId, seq: event.seq, type: event.type }, 'no running workflow for event');
        m.ack();
        return;
      }
      deps.log.warn({ err, callId: event.callId, seq: event.seq }, 'event not delivered, will retry');
      m.nak(1_000);
    } finally {
      handled++;
    }
  };

  const done = (async () => {
    const slots = new Slots(Math.max(1, deps.concurrency ?? bridgeConcurrency));
    /** The last event in hand of each call: the call's next one waits for it. */
    const lastOfCall = new Map<string, Promise<void>>();
    for await (const m of messages) {
      await slots.take();
      const call = m.subject;
      const run = (lastOfCall.get(call) ?? Promise.resolve())
        .then(() => handle(m))
        // Unacknowledged, the event comes back after the ack wait.
        .catch((err: unknown) => deps.log.error({ err, subject: m.subject, streamSeq: m.seq }, 'call event not handled'))
        .finally(() => {
          slots.give();
          if (lastOfCall.get(call) === run) lastOfCall.delete(call);
        });
      lastOfCall.set(call, run);
    }
    await Promise.all(lastOfCall.values());
  })();
  deps.log.info({ durable }, 'event bridge consuming');
  return {
    done,
    get handled() {
      return handled;
    },
    async stop() {
      agentWatch?.stop();
      await messages.close();
      await done;
    },
  };
}

/** A counting semaphore: `take` waits while every slot is in use. */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const log = createLogger('event-bridge', config.logLevel);
  const tracing = startTracing(config, 'event-bridge');
  const metricsServer = await startMetricsServer(config, 'event-bridge', log);
  const nc = await connectNats(config.nats.url, 'kickcall-event-bridge');
  const connection = await Connection.connect({ address: config.temporal.address });
  // One connection for each event in hand at once.
  const db = createDb(config.postgres.url, { maxConnections: bridgeConcurrency });
  const temporal = new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors(tracing) });
  const bridge = await startEventBridge({ nc, temporal, db, log, prices: config.prices });
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping');
    void bridge.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await bridge.done;
  } finally {
    await nc.drain();
    await connection.close();
    await db.destroy();
    await metricsServer.close();
    await tracing.shutdown();
    log.info('stopped');
  }
}

/**
 * One call's media job: forked by the media worker for each dispatch. Validates the
 * call configuration, builds the voice session, reports every turn on NATS, takes
 * commands from the call's workflow, greets the callee the moment the call is answered
 * (or, when resuming, continues the conversation without greeting), and ends the job
 * when the call ends.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../deploy/nats.js';
import { jetstream } from '@nats-io/jetstream';
import { defineAgent, llm, tts, voice, type JobContext, type JobProcess, type VAD } from '@livekit/agents';
import { RoomEvent, type AudioFrame, type RemoteParticipant } from '@livekit/rtc-node';
import { SpanKind, context, trace, type Span } from '@opentelemetry/api';
import { loadConfig } from '../../deploy/config.js';
import { createLogger, type Logger } from '../../deploy/logger.js';
import { contextFromTraceparent, startTracing, tracer, type Tracing } from '../../deploy/telemetry/tracing.js';
import { createCallEventPublisher, ensureCallEventsStream } from '../events/publisher.js';
import { warmCallEventSchemas } from '../events/schema.js';
import { InvalidCallConfigError, parseCallConfig, salvageCallKey, type CallConfig } from './call-config.js';
import { serveControl } from './control.js';
import { createReporter, publishUsage, reportSessionEvents, type Reporter } from './reporter.js';
import { createAgentSession, loadTelephonyVad, roomInputOptions } from './session.js';
import { createTools, warmToolSchemas } from './tools.js';

/** Core-NATS subject for jobs whose metadata names no usable call: nothing to key them by. */
export const agentErrorsSubject = 'kickcall.agents.errors';

/** What the job says before giving up on a turn the providers could not answer. */
export const degradeLines = {
  transfer: 'I am sorry, I am having some trouble on my side. Let me connect you with a colleague.',
  hangup: 'I am sorry, I am having some trouble on my side. We will call you back shortly. Goodbye.',
} as const;

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    try {
      proc.userData.vad = await loadTelephonyVad();
      warmToolSchemas();
      warmCallEventSchemas();
    } catch (err) {
      // LiveKit Agents logs a failed prewarm at debug level only, and its worker then
      // sees just an initialisation timeout: say why where operators look.
      createLogger('media-agent', loadConfig().logLevel).error({ err }, 'job process prewarm failed; it cannot take calls');
      throw err;
    }
  },
  entry: async (ctx: JobContext) => {
    const config = loadConfig();
    const log = createLogger('media-agent', config.logLevel).child({ jobId: ctx.job.id });
    const nc = await connectNats(config.nats.url, `kickcall-agent-${ctx.job.id}`);
    const tracing = jobTracing(config);
    const lastWords = new LastWords();
    // The call's final events go out before the connection drains (bounded, so a NATS
    // outage cannot hold the job past the worker's shutdown timeout); then its spans.
    ctx.addShutdownCallback(async () => {
      await lastWords.settled(5_000);
      await nc.drain();
      await tracing.flush();
    });

    let call: CallConfig;
    try {
      call = parseCallConfig(ctx.job.metadata);
    } catch (err) {
      await reportInvalidMetadata(nc, ctx, err, log);
      ctx.shutdown('invalid_metadata');
      return;
    }
    await runCall(ctx, nc, call, config, lastWords, log.child({ callId: call.callId }));
  },
});

let tracingOfProcess: Tracing | undefined;
/** A job process traces as `kickcall-media-job` (once per process: it may serve several jobs). */
function jobTracing(config: ReturnType<typeof loadConfig>): Tracing {
  tracingOfProcess ??= startTracing(config, 'media-job');
  return tracingOfProcess;
}

/** The publishing a job does as it ends, which its shutdown must wait for. */
class LastWords {
  #done: Promise<void> = Promise.resolve();
  track(work: Promise<void>): void {
    this.#done = work;
  }
  settled(timeoutMs: number): Promise<void> {
    return Promise.race([this.#done, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }
}

async function runCall(
  ctx: JobContext,
  nc: NatsConnection,
  call: CallConfig,
  config: ReturnType<typeof loadConfig>,
  lastWords: LastWords,
  log: Logger,
): Promise<void> {
  await ensureCallEventsStream(nc);
  const publisher = createCallEventPublisher(jetstream(nc), call.callId, call.resume?.nextSeq ?? 1);
  // The job's span continues the trace of the workflow activity that dispatched it.
  const jobSpan: Span = tracer.startSpan('call.media', { kind: SpanKind.CONSUMER, attributes: { 'kickcall.call_id': call.callId, 'kickcall.resumed': call.resume !== undefined } }, contextFromTraceparent(call.traceparent));
  const reporter = createReporter(publisher, log, jobTracing(config).enabled ? { trace: trace.setSpan(context.active(), jobSpan) } : {});
  const session = createAgentSession(call, config.providers, ctx.proc.userData.vad as VAD);

  /** Set when the call ends by decision (tool, workflow command): the call is over, not handed back. */
  let endedBy: string | undefined;
  const endAfter = (line: string, reason: string) => {
    endedBy ??= reason;
    if (line) session.say(line, { allowInterruptions: false });
    session.shutdown({ drain: true, reason });
  };

  const tools = createTools(call, {
    report: (name, toolCallId, args) => reporter.publish({ type: 'tool.requested', toolCallId, name, args }),
    endAfter,
  });
  const agent = new voice.Agent({ instructions: call.persona.instructions, tools, chatCtx: priorConversation(call) });
  reportSessionEvents(session, reporter);
  degradeOnProviderFailure(session, call, reporter, endAfter);

  /** Reports how the call ended for this agent, then ends the job. */
  const finish = async (why: string): Promise<void> => {
    // The caller hanging up or a decision ends the call; a worker shutdown or an error
    // only ends this agent: the workflow resumes the call with a new one.
    const callEnded = endedBy !== undefined || why === 'participant_disconnected';
    await publishUsage(reporter, config.providers.openai.model);
    if (callEnded) await reporter.publish({ type: 'call.ended', reason: endedBy ?? 'caller_hung_up' });
    await reporter.publish({
      type: 'agent.left',
      reason: callEnded ? (endedBy ? 'call_ended' : 'participant_left') : why === 'error' ? 'error' : 'drained',
    });
    await reporter.flush();
    jobSpan.end();
    ctx.shutdown(why);
  };
  session.on(voice.AgentSessionEventTypes.Close, ({ reason }) => lastWords.track(finish(String(reason))));

  await session.start({ agent, room: ctx.room, record: false, inputOptions: roomInputOptions });
  // Served before the agent says it joined: the event bridge pings this subject from then
  // on to tell a live agent from one whose machine died (workers/agent-watch.ts).
  const control = serveControl(nc, call.callId, { session, agent, hangup: (reason) => endAfter('', reason) }, log);
  await reporter.publish({
    type: 'agent.joined',
    workerId: ctx.workerId,
    resumed: call.resume !== undefined,
    ...(ctx.room.localParticipant ? { participantIdentity: ctx.room.localParticipant.identity } : {}),
  });
  ctx.addShutdownCallback(() => Promise.resolve(control.unsubscribe()));

  if (call.resume) {
    log.info({ turns: call.resume.turns.length, nextSeq: call.resume.nextSeq }, 'resumed call');
    return;
  }
  // Greet in the background: `entry` returns once the session is set up, because the
  // framework waits for it before it can shut a job down.
  void greetWhenAnswered(ctx, session, call, endAfter, log);
}

/** How long after dispatch the callee may take to join and answer before the job gives up. */
export const answerTimeoutMs = 120_000;

async function greetWhenAnswered(
  ctx: JobContext,
  session: voice.AgentSession,
  call: CallConfig,
  endAfter: (line: string, reason: string) => void,
  log: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), answerTimeoutMs);
  });
  // Synthesise the greeting while the phone rings, so it plays the moment the callee answers.
  const greetingAudio = prerender(session, call.persona.greeting, log);
  try {
    const answered = await Promise.race([ctx.waitForParticipant().then((callee) => untilAnswered(ctx, callee)), gaveUp]);
    if (answered === 'timeout') {
      log.warn({ answerTimeoutMs }, 'callee never answered');
      await greetingAudio?.cancel();
      endAfter('', 'no_answer');
      return;
    }
    session.say(call.persona.greeting, { allowInterruptions: true, ...(greetingAudio ? { audio: greetingAudio } : {}) });
    log.info({ prerendered: greetingAudio !== undefined }, 'greeting started');
  } catch (err) {
    // The room went away before anyone answered: the job is ending anyway.
    log.info({ err }, 'no greeting: room closed first');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts synthesising `text` now and returns its audio as a stream the session can play
 * later. The TTS runs ahead and buffers; undefined when the session has no TTS.
 */
function prerender(session: voice.AgentSession, text: string, log: Logger): ReadableStream<AudioFrame> | undefined {
  const engine = session.tts;
  if (!engine) return undefined;
  const stream = engine.stream();
  stream.pushText(text);
  stream.flush();
  stream.endInput();
  return new ReadableStream<AudioFrame>({
    async pull(controller) {
      try {
        const next = await stream.next();
        if (next.done || next.value === tts.SynthesizeStream.END_OF_STREAM) {
          controller.close();
          stream.close();
          return;
        }
        controller.enqueue(next.value.frame);
      } catch (err) {
        log.warn({ err }, 'greeting synthesis failed');
        controller.error(err);
        stream.close();
      }
    },
    cancel() {
      stream.close();
    },
  });
}

/** The conversation so far, for a replacement agent: the LLM continues from it. */
function priorConversation(call: CallConfig): llm.ChatContext {
  const chat = llm.ChatContext.empty();
  for (const turn of call.resume?.turns ?? []) {
    chat.addMessage({ role: turn.role === 'agent' ? 'assistant' : 'user', content: turn.text });
  }
  return chat;
}

/**
 * A SIP callee is in the room from the moment it is dialled; the greeting waits for the
 * answer (`sip.callStatus` = active). Any other participant is live when it joins.
 */
async function untilAnswered(ctx: JobContext, callee: RemoteParticipant): Promise<void> {
  const status = () => callee.attributes['sip.callStatus'];
  if (status() === undefined || status() === 'active') return;
  await new Promise<void>((resolve) => {
    const onChange = (_changed: Record<string, string>, p: { identity: string }) => {
      if (p.identity === callee.identity && status() === 'active') {
        ctx.room.off(RoomEvent.ParticipantAttributesChanged, onChange);
        resolve();
      }
    };
    ctx.room.on(RoomEvent.ParticipantAttributesChanged, onChange);
  });
}

/**
 * When the LLM or TTS fails past its retries, say a short holding line and apply the
 * call's fallback: ask the workflow for a transfer, or end the call politely.
 */
function degradeOnProviderFailure(
  session: voice.AgentSession,
  call: CallConfig,
  reporter: Reporter,
  endAfter: (line: string, reason: string) => void,
): void {
  let degraded = false;
  session.on(voice.AgentSessionEventTypes.Error, ({ error }) => {
    if (degraded || error.recoverable || !('type' in error) || (error.type !== 'llm_error' && error.type !== 'tts_error')) return;
    degraded = true;
    if (call.fallback === 'transfer' && call.transfer.allowed) {
      session.say(degradeLines.transfer, { allowInterruptions: false });
      void reporter.publish({ type: 'tool.requested', toolCallId: `degrade-${Date.now()}`, name: 'transfer_to_human', args: { reason: 'provider_failure' } });
    } else {
      endAfter(degradeLines.hangup, 'provider_failure');
    }
  });
}

async function reportInvalidMetadata(nc: NatsConnection, ctx: JobContext, err: unknown, log: Logger): Promise<void> {
  const issues = err instanceof InvalidCallConfigError ? err.issues : [String(err)];
  log.warn({ issues, roomName: ctx.job.room?.name }, 'dispatch metadata rejected');
  const key = salvageCallKey(ctx.job.metadata);
  if (key === undefined) {
    nc.publish(agentErrorsSubject, JSON.stringify({ jobId: ctx.job.id, code: 'invalid_metadata', issues }));
    await nc.flush();
    return;
  }
  await ensureCallEventsStream(nc);
  const reporter = createReporter(createCallEventPublisher(jetstream(nc), key.callId, key.nextSeq), log);
  await reporter.publish({ type: 'agent.error', code: 'invalid_metadata', message: issues.join('; '), retryable: false });
  await reporter.publish({ type: 'agent.left', reason: 'error' });
  await reporter.flush();
}

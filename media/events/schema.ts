/**
 * The call event contract, defined once: what media workers publish on NATS JetStream for
 * every call, what the event bridge turns into workflow signals, and the control commands
 * a call's workflow sends back. Every event is versioned, carries the call's ID and a
 * per-call sequence number (`seq`, from 1), and is validated on both sides.
 */
import { z } from 'zod';
import { toolNames } from '../../workflows/tool-names.js';

/**
 * A call ID is a NATS subject token and a LiveKit-safe name: derived from the workflow
 * ID, never from a phone number, so no dots, spaces or wildcards.
 */
export const callIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/, 'a call ID is 1-200 letters, digits, "-" or "_"');

const base = {
  v: z.literal(1),
  callId: callIdSchema,
  seq: z.number().int().positive(),
  /** When it happened, ISO 8601 UTC. */
  ts: z.iso.datetime(),
};

export { toolNames };

const ms = z.number().nonnegative();

export const callEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('agent.joined'),
    workerId: z.string(),
    resumed: z.boolean(),
    /** The agent's identity in the room, so the workflow can tell its agent's departure from an earlier one's. */
    participantIdentity: z.string().optional(),
  }),
  z.object({ ...base, type: z.literal('user.turn'), text: z.string(), language: z.string().optional() }),
  z.object({ ...base, type: z.literal('agent.turn'), text: z.string(), interrupted: z.boolean() }),
  z.object({
    ...base,
    type: z.literal('tool.requested'),
    toolCallId: z.string().min(1),
    name: z.enum(toolNames),
    args: z.record(z.string(), z.unknown()),
  }),
  z.object({
    ...base,
    type: z.literal('turn.metrics'),
    /** From the caller's last audio to the end-of-turn decision. */
    eouDelayMs: ms,
    /** From the caller's last audio to the final transcript. */
    sttMs: ms.optional(),
    llmTtftMs: ms,
    ttsTtfbMs: ms,
    /** From the caller's last audio to the agent's first audio: what the caller feels. */
    voiceToVoiceMs: ms,
  }),
  z.object({
    ...base,
    type: z.literal('usage'),
    sttAudioS: z.number().nonnegative(),
    ttsCharacters: z.number().int().nonnegative(),
    llmInputTokens: z.number().int().nonnegative(),
    llmOutputTokens: z.number().int().nonnegative(),
    llmModel: z.string(),
  }),
  z.object({ ...base, type: z.literal('call.ended'), reason: z.string() }),
  z.object({
    ...base,
    type: z.literal('agent.left'),
    reason: z.enum(['call_ended', 'drained', 'error', 'participant_left']),
  }),
  z.object({
    ...base,
    type: z.literal('agent.error'),
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
  }),
]);

export type CallEvent = z.infer<typeof callEventSchema>;
export type CallEventType = CallEvent['type'];
/** An event as its producer describes it; the publisher adds `v`, `callId`, `seq` and `ts`. */
export type CallEventBody = CallEvent extends infer E ? (E extends CallEvent ? Omit<E, 'v' | 'callId' | 'seq' | 'ts'> : never) : never;

export const controlCommandSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('say'), text: z.string().min(1), allowInterruptions: z.boolean().default(true) }),
  z.object({ command: z.literal('hangup'), reason: z.string().min(1) }),
  z.object({ command: z.literal('transfer_notice'), text: z.string().min(1) }),
  z.object({ command: z.literal('update_instructions'), instructions: z.string().min(1) }),
  /** Liveness: answered at once by a live agent; no answer means its process is gone. */
  z.object({ command: z.literal('ping') }),
]);
export type ControlCommand = z.input<typeof controlCommandSchema>;

export const controlReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type ControlReply = z.infer<typeof controlReplySchema>;

const knownTypes: ReadonlySet<string> = new Set(callEventSchema.options.map((o) => o.shape.type.value));

/**
 * Runs every kind of event and control message through its parser once, so a job process
 * pays zod's first-use cost in prewarm: zod compiles each object schema's parser on its
 * first parse. Cold, the first events of a call took 6–36 ms to validate, then 2–8 ms for
 * each new kind (`agent.joined` goes out before the greeting, `user.turn` on the first
 * turn); warmed, under 3 ms and then well under 1 ms. The probes are incomplete on
 * purpose: a discriminator alone reaches its object's parser and fails there. Returns the
 * kinds it warmed.
 */
export function warmCallEventSchemas(): string[] {
  const warmed: string[] = [];
  for (const option of callEventSchema.options) {
    callEventSchema.safeParse({ type: option.shape.type.value });
    warmed.push(option.shape.type.value);
  }
  for (const option of controlCommandSchema.options) {
    controlCommandSchema.safeParse({ command: option.shape.command.value });
    warmed.push(option.shape.command.value);
  }
  for (const option of controlReplySchema.options) {
    controlReplySchema.safeParse({ ok: option.shape.ok.value });
    warmed.push(`ok: ${option.shape.ok.value}`);
  }
  return warmed;
}

/**
 * Whether bytes that fail this contract come from a newer one: a later `v`, or a type this
 * version does not know. During a rolling deploy a newer media worker publishes them
 * before every bridge can read them; they are left for one that can, not dropped.
 */
export function isNewerCallEvent(data: Uint8Array): boolean {
  try {
    const raw = JSON.parse(new TextDecoder().decode(data)) as { v?: unknown; type?: unknown } | null;
    if (raw === null || typeof raw !== 'object') return false;
    if (typeof raw.v === 'number' && Number.isInteger(raw.v) && raw.v > 1) return true;
    return raw.v === 1 && typeof raw.type === 'string' && !knownTypes.has(raw.type);
  } catch {
    return false;
  }
}

/** Parses bytes from NATS into a validated event; throws a ZodError naming the bad fields. */
export function decodeCallEvent(data: Uint8Array): CallEvent {
  return callEventSchema.parse(JSON.parse(new TextDecoder().decode(data)));
}

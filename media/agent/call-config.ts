/**
 * The call configuration a call workflow hands the media agent as LiveKit dispatch
 * metadata. Defined once, validated by the worker before anything else: bad metadata is
 * reported as an `agent.error` event, never a crash.
 *
 * Phone numbers are deliberately absent: transfers are decided and executed by the call
 * workflow, so the agent only needs to know whether a transfer is on offer.
 */
import { z } from 'zod';
import { callIdSchema, toolNames } from '../events/schema.js';

export const turnSchema = z.object({
  role: z.enum(['user', 'agent']),
  text: z.string(),
});
export type Turn = z.infer<typeof turnSchema>;

export const callConfigSchema = z
  .object({
    v: z.literal(1),
    callId: callIdSchema,
    tenantId: z.string().min(1).max(100),
    persona: z.object({
      /** The agent's system prompt. */
      instructions: z.string().min(1).max(20_000),
      /** Spoken as soon as the callee answers (not when resuming). */
      greeting: z.string().min(1).max(1_000),
    }),
    /** BCP-47 language of the conversation, e.g. `en-US`. */
    language: z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/).default('en-US'),
    /** Deepgram Aura-2 voice. */
    voice: z.string().regex(/^aura-2-[a-z]+-[a-z]{2}$/).default('aura-2-andromeda-en'),
    /** The tools the LLM may call; each becomes a `tool.requested` event for the workflow. */
    tools: z.array(z.enum(toolNames)).default([...toolNames]),
    transfer: z
      .object({
        allowed: z.boolean(),
        /** How the agent refers to the transfer target ("a specialist"). Not a number. */
        targetLabel: z.string().max(100).default('a member of our team'),
      })
      .default({ allowed: false, targetLabel: 'a member of our team' }),
    /** Left on an answering machine, then the call ends. */
    voicemailMessage: z.string().max(1_000).optional(),
    /** After provider failures exhaust the turn's budget: hand to a human or end politely. */
    fallback: z.enum(['transfer', 'hangup']).default('hangup'),
    /** Present when a replacement agent continues a live call. */
    resume: z
      .object({
        turns: z.array(turnSchema).max(500),
        /** The `seq` the first event of the resumed agent must carry. */
        nextSeq: z.number().int().positive(),
      })
      .optional(),
    /** `<callId>#<generation>`: lets the call workflow find a dispatch it already made. */
    dispatchKey: z.string().max(260).optional(),
    /** W3C trace context of the call, so the agent's spans join the call's trace. */
    traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
  })
  .strict();

export type CallConfig = z.infer<typeof callConfigSchema>;
export type CallConfigInput = z.input<typeof callConfigSchema>;

export class InvalidCallConfigError extends Error {
  override readonly name = 'InvalidCallConfigError';
  readonly retryable = false;
  constructor(readonly issues: readonly string[], options?: { cause?: unknown }) {
    super(`invalid dispatch metadata: ${issues.join('; ')}`, options);
  }
}

/** Parses dispatch metadata; throws InvalidCallConfigError listing every problem. */
export function parseCallConfig(metadata: string): CallConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata);
  } catch (cause) {
    throw new InvalidCallConfigError(['metadata is not JSON'], { cause });
  }
  const parsed = callConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidCallConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

/**
 * Best effort for metadata that failed validation: its call ID (so the error event can
 * be keyed) and the seq to publish at (after a resumed call's earlier events, which the
 * stream would otherwise drop as duplicates).
 */
export function salvageCallKey(metadata: string): { callId: string; nextSeq: number } | undefined {
  try {
    const raw = JSON.parse(metadata) as { callId?: unknown; resume?: { nextSeq?: unknown } };
    if (!callIdSchema.safeParse(raw.callId).success) return undefined;
    const nextSeq = raw.resume?.nextSeq;
    return { callId: raw.callId as string, nextSeq: Number.isInteger(nextSeq) && (nextSeq as number) > 0 ? (nextSeq as number) : 1 };
  } catch {
    return undefined;
  }
}

/**
 * The tools the LLM may call. Every call is reported as a `tool.requested` event: the
 * call workflow owns the decision (may we transfer? record the opt-out, schedule the
 * callback). Locally the agent only does what the conversation needs at once: a polite
 * close for end_call and do_not_call, the voicemail message, a holding line for transfer.
 */
import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { toolNames } from '../events/schema.js';
import type { CallConfig } from './call-config.js';
import { strictToolSchema } from './session.js';

type ToolName = (typeof toolNames)[number];

export interface ToolHooks {
  /** Publishes `tool.requested`; resolves true once JetStream has stored it, false if it could not. */
  report(name: ToolName, toolCallId: string, args: Record<string, unknown>): Promise<boolean>;
  /** Ends the call after the given line has been spoken. */
  endAfter(line: string, reason: string): void;
}

/** Lines the agent speaks on its own, never generated, so they are predictable and short. */
export const scriptedLines = {
  transferHold: 'Of course. Please hold for a moment while I connect you.',
  endCall: 'Thank you for your time. Goodbye.',
  doNotCall: 'Understood. I have removed your number from our list, and you will not be called again. Goodbye.',
  /** The opt-out could not be recorded: no promise the system cannot keep. */
  doNotCallUnrecorded: 'Understood. I could not update our list just now, so if we call again, please tell us and we will remove you. Goodbye.',
} as const;

/** What the LLM is told when a tool's event could not be recorded, so it promises nothing. */
const notRecorded = 'Not recorded: the system is unavailable. Do not tell the caller it was done.';

/** Each tool's arguments. The same for every call: only descriptions depend on the call. */
const toolParameters = {
  transfer_to_human: z.object({ reason: z.string().describe('Why the caller wants a person, in a few words') }),
  end_call: z.object({ reason: z.string().describe('Why the call is ending, in a few words') }),
  voicemail_detected: z.object({}),
  schedule_callback: z.object({ when: z.string().describe('When to call back, as the caller said it, or ISO 8601') }),
  record_answer: z.object({ field: z.string().describe('The field name'), value: z.string().describe('The answer') }),
  do_not_call: z.object({}),
} satisfies Record<ToolName, z.ZodObject>;

/**
 * Converts every tool's arguments to JSON Schema as LiveKit Agents does for each LLM
 * request (in OpenAI's dialect, with the session's `strictToolSchema`), so a job process
 * does it once in prewarm. Converting cold, in a fresh process, took 14–86 ms against
 * about 1 ms warm (15 runs of the conversion alone, beside the 100k campaign benchmark),
 * and would land on the first caller turn's time to first token. Returns the schemas so
 * a test can hold them against what requests carry.
 */
export function warmToolSchemas(): Record<ToolName, object> {
  const entries = Object.entries(toolParameters).map(([name, schema]) => [name, llm.toJsonSchema(schema, true, strictToolSchema)]);
  return Object.fromEntries(entries) as Record<ToolName, object>;
}

export function createTools(call: CallConfig, hooks: ToolHooks) {
  const all = {
    transfer_to_human: llm.tool({
      description: call.transfer.allowed
        ? `Transfer the caller to ${call.transfer.targetLabel} when they ask for a person or you cannot help.`
        : 'Use when the caller asks for a person. No transfer is available: you will be told what to say.',
      parameters: toolParameters.transfer_to_human,
      execute: async ({ reason }, { toolCallId, ctx }) => {
        if (!(await hooks.report('transfer_to_human', toolCallId, { reason }))) return `${notRecorded} Apologise; offer that someone will call back.`;
        if (call.transfer.allowed) ctx.session.say(scriptedLines.transferHold, { allowInterruptions: false });
        // The workflow answers with a control command (transfer_notice, say or hangup).
        return call.transfer.allowed ? undefined : 'Transfer requested; tell the caller someone will call them back.';
      },
    }),
    end_call: llm.tool({
      description: 'End the call when the conversation is finished or the caller is not interested.',
      parameters: toolParameters.end_call,
      execute: async ({ reason }, { toolCallId }) => {
        await hooks.report('end_call', toolCallId, { reason });
        hooks.endAfter(scriptedLines.endCall, 'end_call');
        return undefined;
      },
    }),
    voicemail_detected: llm.tool({
      description: 'Call this as soon as you reach an answering machine or voicemail greeting.',
      parameters: toolParameters.voicemail_detected,
      execute: async (_args, { toolCallId }) => {
        await hooks.report('voicemail_detected', toolCallId, {});
        hooks.endAfter(call.voicemailMessage ?? '', 'voicemail');
        return undefined;
      },
    }),
    schedule_callback: llm.tool({
      description: 'Record that the caller wants to be called back later.',
      parameters: toolParameters.schedule_callback,
      execute: async ({ when }, { toolCallId }) => {
        if (!(await hooks.report('schedule_callback', toolCallId, { when }))) return notRecorded;
        return 'Callback recorded. Confirm the time to the caller briefly.';
      },
    }),
    record_answer: llm.tool({
      description: 'Record the caller’s answer to one of the questions you were asked to collect.',
      parameters: toolParameters.record_answer,
      execute: async ({ field, value }, { toolCallId }) => {
        return (await hooks.report('record_answer', toolCallId, { field, value })) ? 'Recorded.' : notRecorded;
      },
    }),
    do_not_call: llm.tool({
      description: 'The caller asks not to be called again or to be removed from the list.',
      parameters: toolParameters.do_not_call,
      execute: async (_args, { toolCallId }) => {
        const recorded = await hooks.report('do_not_call', toolCallId, {});
        hooks.endAfter(recorded ? scriptedLines.doNotCall : scriptedLines.doNotCallUnrecorded, 'do_not_call');
        return undefined;
      },
    }),
  } satisfies Record<ToolName, unknown>;

  // Only the tools this call's configuration enables are shown to the LLM.
  return Object.fromEntries(call.tools.map((name) => [name, all[name]]));
}

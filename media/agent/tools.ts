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
export const toolParameters = {
  transfer_to_human: z.object({ reason: z.string().describe('Why the caller wants a person, in a few words') }),
  end_call: z.object({ reason: z.string().describe('Why the call is ending, in a few words') }),
  voicemail_detected: z.object({}),
  schedule_callback: z.object({ when: z.string().describe('When to call back, as the caller said it, or ISO 8601') }),
  record_answer: z.object({ field: z.string().describe('The field name'), value: z.string().describe('The answer') }),
  do_not_call: z.object({}),
} satisfies Record<ToolName, z.ZodObject>;

/** Each tool's arguments in JSON Schema, converted once per process by `warmToolSchemas`. */
let jsonParameters: Record<ToolName, object> | undefined;

/**
 * Converts every tool's arguments to JSON Schema once, in OpenAI's dialect with the
 * session's `strictToolSchema`, exactly as LiveKit Agents would convert a zod schema.
 * The tools are given these plain schemas, which the framework sends as they are:
 * given zod, it converts every tool again for every LLM request (about 1 ms warm, on the
 * turn's path to the first token) and the first conversion in a fresh job process took
 * 14–86 ms. Prewarm calls this, so no caller turn pays for it. Returns the schemas so a
 * test can hold them against what requests carry.
 */
export function warmToolSchemas(): Record<ToolName, object> {
  jsonParameters ??= Object.fromEntries(
    Object.entries(toolParameters).map(([name, schema]) => [name, llm.toJsonSchema(schema, true, strictToolSchema)]),
  ) as Record<ToolName, object>;
  return jsonParameters;
}

/**
 * The LLM's arguments for a tool, checked against its zod schema. With a plain JSON
 * Schema the framework hands `execute` the parsed JSON unchecked, so the check it would
 * make is made here, and a bad call answers the LLM with the same kind of tool error.
 */
export function toolArguments<N extends ToolName>(name: N, args: unknown): z.infer<(typeof toolParameters)[N]> {
  const parsed = toolParameters[name].safeParse(args);
  if (!parsed.success) throw new llm.ToolError(`Invalid arguments for ${name}: ${parsed.error.message}`);
  return parsed.data as z.infer<(typeof toolParameters)[N]>;
}

export function createTools(call: CallConfig, hooks: ToolHooks) {
  const parameters = warmToolSchemas();
  const all = {
    transfer_to_human: llm.tool({
      description: call.transfer.allowed
        ? `Transfer the caller to ${call.transfer.targetLabel} when they ask for a person or you cannot help.`
        : 'Use when the caller asks for a person. No transfer is available: you will be told what to say.',
      parameters: parameters.transfer_to_human,
      execute: async (args, { toolCallId, ctx }) => {
        const { reason } = toolArguments('transfer_to_human', args);
        if (!(await hooks.report('transfer_to_human', toolCallId, { reason }))) return `${notRecorded} Apologise; offer that someone will call back.`;
        if (call.transfer.allowed) ctx.session.say(scriptedLines.transferHold, { allowInterruptions: false });
        // The workflow answers with a control command (transfer_notice, say or hangup).
        return call.transfer.allowed ? undefined : 'Transfer requested; tell the caller someone will call them back.';
      },
    }),
    end_call: llm.tool({
      description: 'End the call when the conversation is finished or the caller is not interested.',
      parameters: parameters.end_call,
      execute: async (args, { toolCallId }) => {
        const { reason } = toolArguments('end_call', args);
        await hooks.report('end_call', toolCallId, { reason });
        hooks.endAfter(scriptedLines.endCall, 'end_call');
        return undefined;
      },
    }),
    voicemail_detected: llm.tool({
      description: 'Call this as soon as you reach an answering machine or voicemail greeting.',
      parameters: parameters.voicemail_detected,
      execute: async (args, { toolCallId }) => {
        toolArguments('voicemail_detected', args);
        await hooks.report('voicemail_detected', toolCallId, {});
        hooks.endAfter(call.voicemailMessage ?? '', 'voicemail');
        return undefined;
      },
    }),
    schedule_callback: llm.tool({
      description: 'Record that the caller wants to be called back later.',
      parameters: parameters.schedule_callback,
      execute: async (args, { toolCallId }) => {
        const { when } = toolArguments('schedule_callback', args);
        if (!(await hooks.report('schedule_callback', toolCallId, { when }))) return notRecorded;
        return 'Callback recorded. Confirm the time to the caller briefly.';
      },
    }),
    record_answer: llm.tool({
      description: 'Record the caller’s answer to one of the questions you were asked to collect.',
      parameters: parameters.record_answer,
      execute: async (args, { toolCallId }) => {
        const { field, value } = toolArguments('record_answer', args);
        return (await hooks.report('record_answer', toolCallId, { field, value })) ? 'Recorded.' : notRecorded;
      },
    }),
    do_not_call: llm.tool({
      description: 'The caller asks not to be called again or to be removed from the list.',
      parameters: parameters.do_not_call,
      execute: async (args, { toolCallId }) => {
        toolArguments('do_not_call', args);
        const recorded = await hooks.report('do_not_call', toolCallId, {});
        hooks.endAfter(recorded ? scriptedLines.doNotCall : scriptedLines.doNotCallUnrecorded, 'do_not_call');
        return undefined;
      },
    }),
  } satisfies Record<ToolName, unknown>;

  // Only the tools this call's configuration enables are shown to the LLM.
  return Object.fromEntries(call.tools.map((name) => [name, all[name]]));
}

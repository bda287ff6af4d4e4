/**
 * The tools a media agent's LLM may call, defined once. Each call becomes a
 * `tool.requested` event that the call workflow decides on. Here (free of Node and
 * server clients) so workflows, the media agent and the event schema share it.
 */
export const toolNames = [
  'transfer_to_human',
  'end_call',
  'voicemail_detected',
  'schedule_callback',
  'record_answer',
  'do_not_call',
] as const;
export type ToolName = (typeof toolNames)[number];

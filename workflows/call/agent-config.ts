/**
 * The media agent's configuration for a call, outbound or inbound: what it says and may
 * do. No phone numbers: the agent only learns whether a transfer is on offer and how to
 * name its target; the workflow performs it.
 */
import type { CallConfigInput } from '../../media/agent/call-config.js';
import type { AgentSettings, OutboundCallInput } from './types.js';

export function agentConfigFor(
  callId: string,
  tenantId: string,
  agent: AgentSettings,
  transfer: OutboundCallInput['transfer'],
): Omit<CallConfigInput, 'resume'> {
  return {
    v: 1,
    callId,
    tenantId,
    persona: { instructions: agent.instructions, greeting: agent.greeting },
    ...(agent.language ? { language: agent.language } : {}),
    ...(agent.voice ? { voice: agent.voice } : {}),
    ...(agent.tools ? { tools: agent.tools } : {}),
    transfer: { allowed: transfer !== undefined, targetLabel: transfer?.label ?? 'a member of our team' },
    ...(agent.voicemailMessage ? { voicemailMessage: agent.voicemailMessage } : {}),
    ...(agent.fallback ? { fallback: agent.fallback } : {}),
  };
}

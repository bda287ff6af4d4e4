/**
 * The call workflow's input and result: plain JSON, one object each. Phone numbers travel
 * only in these payloads (never in IDs, names, search attributes or logs).
 */
import type { OutboundTrunk } from '../../activities/telephony.js';
import type { ToolName } from '../tool-names.js';
import type { CallingWindow } from './calling-window.js';
import type { RetryDecision, RetryPolicy } from './retry-policy.js';

/** How a call ended, for reporting, retries and billing. */
export type Disposition =
  /** A conversation took place and ended normally. */
  | 'completed'
  | 'busy'
  | 'no_answer'
  | 'rejected'
  | 'failed'
  | 'voicemail'
  | 'opted_out'
  | 'transferred'
  /** Never dialled: do-not-call list or no consent. */
  | 'blocked'
  /** Hung up by an operator or the API before the callee answered. */
  | 'cancelled';

/** The media agent's side of the call: who it is and what it may do. */
export interface AgentSettings {
  /** System prompt. */
  instructions: string;
  /** First words once the callee answers. */
  greeting: string;
  /** BCP-47, default `en-US`. */
  language?: string;
  /** Deepgram Aura-2 voice, default `aura-2-andromeda-en`. */
  voice?: string;
  /** Tools the LLM may call; default all. */
  tools?: ToolName[];
  /** Left on an answering machine, then the call ends. */
  voicemailMessage?: string;
  /** After provider failures: transfer (when configured) or end politely. Default hangup. */
  fallback?: 'transfer' | 'hangup';
}

/** A campaign field the post-call analysis fills in. */
export interface AnalysisFieldSpec {
  type: 'string' | 'number' | 'boolean' | 'enum';
  description: string;
  /** The allowed values, for `enum`. */
  values?: string[];
}

export interface CallLimits {
  /** How long to let it ring. Default 30. */
  ringingTimeoutS?: number;
  /** Hard cap from answer to hang-up. Default 600. */
  maxDurationS?: number;
  /** With no turn from either side for this long, the call is checked and ended. Default 30. */
  silenceTimeoutS?: number;
}

export interface OutboundCallInput {
  tenantId: string;
  campaignId?: string;
  /** The contact's ID in the tenant's records; names the workflow, carries no PII. */
  contactId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** E.164. */
  callTo: string;
  trunk: OutboundTrunk;
  contact: {
    /** IANA zone, e.g. `America/New_York`: the calling window is read in it. */
    timeZone: string;
    /** Whether the contact consented to automated calls. No consent, no dial. */
    consent: boolean;
  };
  agent: AgentSettings;
  /** The saved agent `agent` was read from, for analytics per agent; absent when given inline. */
  agentId?: string;
  /** Cold transfer target; without it the agent cannot hand the caller to a human. */
  transfer?: {
    /** SIP URI (`sip:agent@host:port`) or E.164, sent in the REFER. */
    to: string;
    /** How the agent names the target ("a specialist"). */
    label?: string;
    /** Read to the caller before the transfer. */
    notice?: string;
  };
  window?: CallingWindow;
  limits?: CallLimits;
  retry?: RetryPolicy;
  /**
   * Whether this workflow starts the next attempt itself when the policy says so (a call
   * started on its own), or only reports the decision (a campaign schedules its attempts).
   * Default true without a campaign, false with one.
   */
  chainRetries?: boolean;
  /** For a campaign's call: when its pacer planned the call to start (ms since the epoch). */
  plannedAtMs?: number;
  /**
   * For a campaign's call: settle its end with the campaign in PostgreSQL (and wake the
   * campaign only if it sleeps waiting for it) instead of signalling its outcome. Set by
   * campaign runs that count their lines from PostgreSQL; older runs wait for the signal.
   */
  settlesWithCampaign?: boolean;
  analysis?: { goal?: string; fields?: Record<string, AnalysisFieldSpec> };
}

export interface CallResult {
  callId: string;
  disposition: Disposition;
  /** Why the call ended, e.g. `caller_hung_up`, `end_call`, `max_duration`, `do_not_call`. */
  endReason: string;
  sipStatusCode?: number;
  answered: boolean;
  /** Turns spoken (caller and agent); the text is in PostgreSQL. */
  turns: number;
  /** Agents that served the call: more than one after a media worker was lost. */
  agents: number;
  durationMs?: number;
  analysis?: { status: 'ok' | 'failed'; summary?: string; sentiment?: string; goalMet?: boolean; error?: string };
  retry: RetryDecision;
  /** The next attempt's workflow ID, when this workflow started it. */
  nextAttemptId?: string;
}

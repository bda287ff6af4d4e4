/**
 * A campaign's definition, its workflow's input and the figures it reports. Contacts are
 * not here: they live in PostgreSQL and the campaign reads them a claim at a time.
 */
import type { CallingWindow } from '../call/calling-window.js';
import type { RetryPolicy } from '../call/retry-policy.js';
import type { AgentSettings, CallLimits, Disposition, OutboundCallInput } from '../call/types.js';

/** What an operator sets when creating a campaign (validated by the API before it is stored). */
export interface CampaignConfig {
  agent: AgentSettings;
  /** An outbound trunk of the tenant (`outbound_trunks`): its carrier limits apply across campaigns. */
  trunkId: string;
  /** Caller ID to present, one of the trunk's numbers; default its first. */
  callerId?: string;
  /** Default 08:00-21:00 every day, read in each contact's own time zone. */
  window?: CallingWindow;
  /** Calls started per second by this campaign. */
  callsPerSecond: number;
  /** Calls of this campaign in progress at once. */
  maxConcurrentCalls: number;
  /** Attempts and delays per outcome; unset outcomes use the defaults. */
  retry?: RetryPolicy;
  /** When a redial whose delay has passed is dialled; default `when_due`. */
  redialOrder?: RedialOrder;
  transfer?: OutboundCallInput['transfer'];
  limits?: CallLimits;
  analysis?: OutboundCallInput['analysis'];
  /** Stop dialling when the projected spend would pass this. */
  budgetUsd?: number;
  /** What a call is assumed to cost before the campaign has measured any. Default 0.05. */
  estimatedCostPerCallUsd?: number;
  /** No dials after this instant (ISO 8601). */
  endsAt?: string;
}

/**
 * `when_due`: a redial whose delay has passed takes the next free slot, before contacts
 * not yet dialled, so a retry delay is a delay and not a minimum stretched by the queue
 * (at 5 calls/s, 10,000 first attempts would hold a busy contact's redial for 33 min).
 * `after_first_pass`: every contact due now is dialled once before any redial.
 */
export type RedialOrder = 'when_due' | 'after_first_pass';

export type CampaignStatus = 'running' | 'paused' | 'stopping' | 'completed' | 'cancelled' | 'stopped';

/** Why a campaign stopped dialling before every contact was done. */
export type StopReason = 'cancelled' | 'budget' | 'end_date';

/** One call attempt's end, reported by the call workflow to its campaign. */
export interface CallOutcome {
  callId: string;
  contactId: string;
  attempt: number;
  disposition: Disposition;
  /** Whether the retry policy grants another attempt, and after how long. */
  retryDelayMs?: number;
  durationMs?: number;
}

/** A call the campaign started and has not yet heard the end of. */
export interface InFlightCall {
  contactId: string;
  attempt: number;
  startedAtMs: number;
}

/** Contact counts by state, as PostgreSQL last reported them. */
export interface ContactTally {
  total: number;
  pending: number;
  dialling: number;
  retryWait: number;
  done: number;
  cancelled: number;
  /** Final dispositions of `done` contacts. */
  dispositions: Partial<Record<Disposition, number>>;
}

/** Everything the campaign carries from one run to the next across continue-as-new. */
export interface CampaignCarry {
  status: CampaignStatus;
  /**
   * A status the last run changed but had not yet written to PostgreSQL when it continued
   * as new (a pause or a stop heard in its last pass): the next run writes it first.
   */
  statusUnstored?: CampaignStatus;
  stopReason?: StopReason;
  cancelNote?: string;
  inFlight: Record<string, InFlightCall>;
  /** Outcomes received but not yet written to PostgreSQL. */
  unrecorded: CallOutcome[];
  /** Calls in flight as PostgreSQL last counted them, in runs whose calls settle themselves. */
  dialling?: number;
  /** When the pacer's next slot opens, ms since the epoch. */
  nextSlotAtMs: number;
  /**
   * The next slots are owed to no one: the last claim found nothing more due, or the
   * campaign has just started or resumed (`fresh-slots-unowed`). The claim plans them
   * from its own time.
   */
  slotsUnowed?: boolean;
  /** Claims made so far, across runs: names the next claim. */
  claims: number;
  runs: number;
  dials: number;
  attemptOutcomes: Partial<Record<Disposition, number>>;
  costUsd: number;
  /** Calls whose cost is in `costUsd`. */
  costedCalls: number;
  /** First and latest dial, for the achieved pace. */
  firstDialAtMs?: number;
  lastDialAtMs?: number;
  /** When the current pause began (workflow time); feeds the figures only. */
  pausedAtMs?: number;
  /** Paused time after the first dial whose end no dial has followed yet. */
  pausedSinceLastDialMs?: number;
  /** Paused time between the first and the latest dial: not part of the achieved pace's span. */
  pausedBetweenDialsMs?: number;
  /** No claim before this time unless an outcome may have made a contact due sooner. */
  nextDueAtMs?: number;
  /** Set once queued contacts were cancelled after a stop. */
  queueClosed: boolean;
  startedAtMs: number;
  tally?: ContactTally;
}

export interface CampaignInput {
  tenantId: string;
  campaignId: string;
  config: CampaignConfig;
  /** Present after continue-as-new. */
  carry?: CampaignCarry;
}

export interface CampaignStats {
  campaignId: string;
  status: CampaignStatus;
  stopReason?: StopReason;
  contacts?: ContactTally;
  /** Outcomes per attempt (a contact may have several attempts). */
  attempts: Partial<Record<Disposition, number>>;
  dials: number;
  inFlight: number;
  costUsd: number;
  /**
   * Dials per second from the first dial to the latest, time spent paused left out (hours
   * outside the calling window count: they are part of how long the campaign takes).
   */
  callsPerSecondAchieved: number;
  callsPerSecondConfigured: number;
  /** Time spent paused since the first dial; a pause under way counts up to the campaign's last wake (a query does not wake it). */
  pausedMs: number;
  startedAt: string;
  /** From the achieved pace and the attempts left; absent when unknown. */
  estimatedCompletionAt?: string;
}

export interface CampaignResult {
  status: 'completed' | 'cancelled' | 'stopped';
  stopReason?: StopReason;
  contacts: ContactTally;
  dials: number;
  costUsd: number;
}

/**
 * The call workflow's view of its activities: types only (workflow code never imports
 * activity implementations), each group with the timeouts and retries its work needs.
 * `withSummary` labels an activity in the Temporal UI's event history.
 */
import { proxyActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { AgentActivities } from '../../activities/agent.js';
import type { AnalysisActivities } from '../../activities/analysis.js';
import type { CallRecordActivities } from '../../activities/call-records.js';
import type { CampaignActivities } from '../../activities/campaign.js';
import type { ComplianceActivities } from '../../activities/compliance.js';
import type { TelephonyActivities } from '../../activities/telephony.js';
import { FailureType, nonRetryableFailureTypes } from '../errors.js';

const retry = { initialInterval: '1 second', maximumInterval: '10 seconds', nonRetryableErrorTypes: nonRetryableFailureTypes };

/**
 * Database writes and reads: quick, retried until the database is back. The call's own
 * row and events run with these as local activities (`records.ts`); the backoff stays
 * under the local retry threshold (1 minute), so retries wait in the worker.
 */
export const recordsOptions = { startToCloseTimeout: '10 seconds', retry: { ...retry, maximumAttempts: 20 } } satisfies ActivityOptions & LocalActivityOptions;

const options = {
  records: recordsOptions,
  /** Transfers through the SIP gateway: a REFER may wait on the far end. */
  telephony: { startToCloseTimeout: '3 minutes', retry: { ...retry, maximumAttempts: 3 } },
  /**
   * Creating and deleting a LiveKit room: one API request each, idempotent. A short timeout,
   * so a call whose worker died mid-request retries in seconds; with the transfers' 3 minutes
   * such a call sat silent for 3 minutes.
   */
  rooms: { startToCloseTimeout: '15 seconds', retry: { ...retry, maximumAttempts: 5 } },
  /**
   * Dialling waits for the answer (ringing timeout plus margin) and heartbeats meanwhile,
   * so a worker lost mid-dial is noticed in seconds; the retry re-attaches to the same
   * call (the dialer is idempotent by room and identity), it does not dial again.
   */
  dial: {
    startToCloseTimeout: '3 minutes',
    heartbeatTimeout: '10 seconds',
    // A carrier failure (5xx) is an outcome, not a glitch: dialling again would place a
    // second call within the same attempt. The retry policy decides on a next attempt.
    retry: { ...retry, maximumAttempts: 3, nonRetryableErrorTypes: [...nonRetryableFailureTypes, FailureType.SipFailed] },
  },
  /** Dispatch and room look-ups must be fast: the callee is waiting. */
  agent: { startToCloseTimeout: '15 seconds', retry: { ...retry, maximumAttempts: 5 } },
  /** A control command may wait for a notice to be spoken. */
  control: { startToCloseTimeout: '45 seconds', retry: { ...retry, maximumAttempts: 2 } },
  /**
   * Settling a campaign call's end waits up to 5 s for its usage to be priced; retried
   * without limit, since its campaign counts the line busy until it is done.
   */
  settle: { startToCloseTimeout: '30 seconds', retry },
  /** Heartbeats, so a worker lost mid-analysis is noticed in seconds. */
  analysis: { startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: { ...retry, maximumAttempts: 5 } },
} satisfies Record<string, ActivityOptions>;

export const records = proxyActivities<CallRecordActivities>(options.records);
export const compliance = proxyActivities<ComplianceActivities>(options.records);
export const telephony = proxyActivities<TelephonyActivities>(options.telephony);
export const agents = proxyActivities<AgentActivities>(options.agent);
export const control = proxyActivities<Pick<AgentActivities, 'sendControl'>>(options.control);
export const analysis = proxyActivities<AnalysisActivities>(options.analysis);
export const campaignSettle = proxyActivities<Pick<CampaignActivities, 'settleCampaignAttempt'>>({ ...options.settle, summary: 'settle the end with the campaign' });

/** The same activity proxies, with a one-line summary shown in the Temporal UI. */
export function withSummary<K extends keyof typeof options>(group: K, summary: string) {
  return proxyActivities<
    CallRecordActivities & ComplianceActivities & TelephonyActivities & AgentActivities & AnalysisActivities
  >({ ...options[group], summary });
}

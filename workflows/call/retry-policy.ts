/**
 * Per-outcome redial rules: how many attempts a contact gets for each retryable outcome,
 * and how long to wait before the next. The call workflow applies them to its own
 * outcome; a campaign passes its policy down so both agree.
 */
import type { Disposition } from './types.js';

export type RetryableOutcome = 'busy' | 'no_answer' | 'voicemail' | 'failed';

export interface OutcomeRetry {
  /** Total attempts allowed for a contact when the outcome repeats (1 = never redial). */
  maxAttempts: number;
  /** Wait before the next attempt, in seconds. */
  delayS: number;
}

export type RetryPolicy = Partial<Record<RetryableOutcome, OutcomeRetry>>;

/** Conservative defaults: busy lines clear quickly, unanswered phones later. */
export const defaultRetryPolicy: Required<RetryPolicy> = {
  busy: { maxAttempts: 3, delayS: 300 },
  no_answer: { maxAttempts: 3, delayS: 3600 },
  voicemail: { maxAttempts: 2, delayS: 4 * 3600 },
  failed: { maxAttempts: 3, delayS: 120 },
};

export type RetryDecision = { retry: false } | { retry: true; nextAttempt: number; delayMs: number };

/** Whether attempt `attempt` (1-based), ending in `disposition`, earns another attempt. */
export function decideRetry(policy: RetryPolicy | undefined, disposition: Disposition, attempt: number): RetryDecision {
  if (disposition !== 'busy' && disposition !== 'no_answer' && disposition !== 'voicemail' && disposition !== 'failed') {
    return { retry: false };
  }
  const rule = { ...defaultRetryPolicy, ...policy }[disposition];
  if (attempt >= rule.maxAttempts) return { retry: false };
  return { retry: true, nextAttempt: attempt + 1, delayMs: rule.delayS * 1000 };
}

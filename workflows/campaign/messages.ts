/**
 * Every message a campaign workflow takes or answers, defined once for the API, the call
 * workflow (which reports its outcome) and tests.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CallOutcome, CampaignStats, CampaignStatus } from './types.js';

/** Sent by each call workflow of the campaign when it ends (at least once; deduped by call ID). */
export const callOutcomeSignal = defineSignal<[CallOutcome]>('callOutcome');

/**
 * Sent by the call whose end a sleeping campaign waits for (a free line, the last call in
 * flight, a redial due sooner); the call has already settled its outcome in PostgreSQL.
 * `wakeSeq` numbers the wake (the campaign row's `wake_seq`); calls whose settle ran
 * before wakes were numbered send nothing.
 */
export const callEndedSignal = defineSignal<[CallEnded?]>('callEnded');

export interface CallEnded {
  wakeSeq?: number;
}

/**
 * Sent by an import that added contacts to a campaign asleep until something falls due,
 * once the contacts are committed (`contactsArrived`); `wakeSeq` numbers the wake as a
 * call's end does.
 */
export const contactsAddedSignal = defineSignal<[ContactsAdded]>('contactsAdded');

export interface ContactsAdded {
  wakeSeq: number;
}

export interface CampaignControlResult {
  status: CampaignStatus;
}

/** Stops starting calls; calls in progress finish. Only a running campaign can be paused. */
export const pauseCampaignUpdate = defineUpdate<CampaignControlResult, []>('pause');

/** Starts dialling again. Only a paused campaign can be resumed. */
export const resumeCampaignUpdate = defineUpdate<CampaignControlResult, []>('resume');

/** Ends queued work for good (calls in progress finish) and records why. */
export const cancelCampaignUpdate = defineUpdate<CampaignControlResult, [{ reason: string }]>('cancel');

export const campaignStatsQuery = defineQuery<CampaignStats>('stats');

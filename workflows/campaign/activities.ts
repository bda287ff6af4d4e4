/**
 * The campaign workflow's view of its activities (types only). Every one is idempotent,
 * so they are retried until PostgreSQL answers: a campaign waits out a database restart.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { CampaignActivities } from '../../activities/campaign.js';
import type { CallStartActivities } from '../../activities/call-starts.js';
import { nonRetryableFailureTypes } from '../errors.js';

export const campaignActivities = proxyActivities<CampaignActivities & CallStartActivities>({
  // Each is one short transaction; a worker lost mid-call is noticed and the call retried soon.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', nonRetryableErrorTypes: nonRetryableFailureTypes },
});

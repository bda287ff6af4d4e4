/**
 * Campaign helpers for integration tests: the shared fixtures, a load-mode configuration,
 * a load-mode orchestration worker on a task queue of the test's own, and peak concurrency.
 */
import { sql } from 'kysely';
import type { Db } from '../../deploy/db/schema.js';
export { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk, type SeedContact } from '../../bench/campaign/fixtures.js';
import type { OutcomeDistribution } from '../../activities/telephony-simulator.js';
import { createOrchestrationWorker } from '../../workers/orchestration.js';
import { config, uniqueName } from './env.js';

/** A load-mode orchestration worker (telephony simulator at the dial boundary). */
export async function loadModeWorker(
  opts: { seed?: string; timeScale?: number; distribution?: OutcomeDistribution; capacity?: { sttStreams: number; ttsStreams: number }; webhookAllowPrivateUrls?: boolean } = {},
) {
  const taskQueue = uniqueName('campaign');
  const workerConfig = {
    ...config,
    telephony: {
      mode: 'simulated' as const,
      seed: opts.seed ?? uniqueName('seed'),
      timeScale: opts.timeScale ?? 0.005,
      ...(opts.distribution ? { distribution: opts.distribution } : {}),
    },
    capacity: opts.capacity ?? { sttStreams: 10_000, ttsStreams: 10_000 },
    // Tests' webhook receivers listen on loopback.
    api: { ...config.api, webhookAllowPrivateUrls: opts.webhookAllowPrivateUrls ?? config.api.webhookAllowPrivateUrls },
  };
  const { worker, close } = await createOrchestrationWorker(workerConfig, { taskQueue });
  return { worker, close, taskQueue, seed: workerConfig.telephony.seed };
}

/** The most calls of a set that were ever in progress at once (by their records). */
export async function peakConcurrentCalls(db: Db, callIds: string[]): Promise<number> {
  if (callIds.length === 0) return 0;
  const rows = await db
    .selectFrom('calls')
    .select([sql<number>`extract(epoch from created_at) * 1000`.as('from'), sql<number>`extract(epoch from coalesce(ended_at, updated_at)) * 1000`.as('to')])
    .where('id', 'in', callIds)
    .execute();
  const edges = rows.flatMap((r) => [
    { at: Number(r.from), d: 1 },
    { at: Number(r.to), d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (now += e.d));
  return peak;
}

/** The campaign's live figures, answered by query from the state it carries. */
import type { CampaignCarry, CampaignConfig, CampaignStats } from './types.js';

export function campaignStats(campaignId: string, config: CampaignConfig, s: CampaignCarry, nowMs: number): CampaignStats {
  // Pauses between the first and the latest dial are not dialling time.
  const spanMs = s.firstDialAtMs !== undefined && s.lastDialAtMs !== undefined ? s.lastDialAtMs - s.firstDialAtMs - (s.pausedBetweenDialsMs ?? 0) : 0;
  const achieved = spanMs > 0 ? ((s.dials - 1) * 1000) / spanMs : 0;
  // `nowMs` is the workflow's time, which a query does not move: the current pause counts up to the campaign's last wake.
  const pausingNowMs = s.status === 'paused' && s.pausedAtMs !== undefined && s.firstDialAtMs !== undefined ? Math.max(0, nowMs - s.pausedAtMs) : 0;
  const pausedMs = (s.pausedBetweenDialsMs ?? 0) + (s.pausedSinceLastDialMs ?? 0) + pausingNowMs;
  // Counted in PostgreSQL by runs whose calls settle themselves; older runs kept a map.
  const inFlight = s.dialling ?? Object.keys(s.inFlight).length;
  // Every contact still queued needs at least one more attempt; redials are not guessed.
  const left = s.tally ? s.tally.pending + s.tally.retryWait : undefined;
  const estimate =
    s.status === 'running' && left !== undefined && achieved > 0 ? new Date(nowMs + (left / achieved) * 1000).toISOString() : undefined;
  return {
    campaignId,
    status: s.status,
    ...(s.stopReason ? { stopReason: s.stopReason } : {}),
    ...(s.tally ? { contacts: s.tally } : {}),
    attempts: s.attemptOutcomes,
    dials: s.dials,
    inFlight,
    costUsd: s.costUsd,
    callsPerSecondAchieved: achieved,
    callsPerSecondConfigured: config.callsPerSecond,
    pausedMs,
    startedAt: new Date(s.startedAtMs).toISOString(),
    ...(estimate ? { estimatedCompletionAt: estimate } : {}),
  };
}

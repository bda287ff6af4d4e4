/**
 * `kickcall campaigns stats <id>` and `kickcall campaigns watch <id>`: the campaign's live
 * statistics once, or polled every second as a redrawn progress bar until the campaign
 * completes, is cancelled or stops. Ctrl-C ends the watch, not the campaign.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { unwrap, type paths } from '../client/index.js';
import { emit, parse, untilInterrupted, type Cli, type Command } from './command.js';
import { bar, duration, fields, liveLine, usd, when } from './format.js';

type Stats = paths['/v1/campaigns/{campaignId}/stats']['get']['responses'][200]['content']['application/json'];

/** Contact counts by state; typed loosely in the API document, so checked here. */
const contactTally = z.object({
  total: z.number(),
  pending: z.number(),
  dialling: z.number(),
  retryWait: z.number(),
  done: z.number(),
  cancelled: z.number(),
  dispositions: z.record(z.string(), z.number()),
});

/** Statuses after which nothing changes any more. */
const finalStatuses = new Set(['completed', 'cancelled', 'stopped']);

/** How often `watch` polls, in ms. */
const pollEveryMs = 1000;

const tallyOf = (s: Stats) => {
  const parsed = contactTally.safeParse(s.contacts);
  return parsed.success ? parsed.data : undefined;
};

const status = (s: Stats) => (s.stopReason && s.stopReason !== s.status ? `${s.status} (${s.stopReason})` : s.status);

const counts = (r: Record<string, number | undefined>) =>
  Object.entries(r)
    .filter(([, n]) => n)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

export function renderStats(s: Stats, nowMs = Date.now()): string {
  const t = tallyOf(s);
  return fields([
    ['campaign', s.campaignId],
    ['status', status(s)],
    ['contacts', t ? `${t.done + t.cancelled}/${t.total} finished (pending ${t.pending}, dialling ${t.dialling}, waiting to retry ${t.retryWait}, cancelled ${t.cancelled})` : undefined],
    ['dispositions', t && counts(t.dispositions)],
    ['attempts', counts(s.attempts)],
    ['dials', `${s.dials} (${s.inFlight} in progress)`],
    ['pace', `${s.callsPerSecondAchieved.toFixed(2)} calls/s of ${s.callsPerSecondConfigured} configured`],
    ['cost', usd(s.costUsd)],
    ['started', when(s.startedAt)],
    ['eta', s.estimatedCompletionAt ? `${when(s.estimatedCompletionAt)} (in ${duration((Date.parse(s.estimatedCompletionAt) - nowMs) / 1000)})` : undefined],
  ]);
}

/** One line: `running [████░░░░] 40%  400/1000  2.50 calls/s  $12.34  ETA 4m00s`. */
export function progressLine(s: Stats, nowMs = Date.now()): string {
  const t = tallyOf(s);
  const finished = t ? t.done + t.cancelled : 0;
  const fraction = t && t.total > 0 ? finished / t.total : finalStatuses.has(s.status) ? 1 : 0;
  const eta = s.estimatedCompletionAt && !finalStatuses.has(s.status) ? `  ETA ${duration((Date.parse(s.estimatedCompletionAt) - nowMs) / 1000)}` : '';
  return `${status(s)} ${bar(fraction)} ${Math.floor(fraction * 100)}%  ${t ? `${finished}/${t.total}` : `${s.dials} dials`}  ${s.callsPerSecondAchieved.toFixed(2)} calls/s  ${usd(s.costUsd)}${eta}`;
}

const readStats = (cli: Cli, campaignId: string, signal?: AbortSignal) =>
  unwrap(cli.client.GET('/v1/campaigns/{campaignId}/stats', { params: { path: { campaignId } }, ...(signal && { signal }) }));

const stats: Command = {
  usage: 'campaigns stats <id> [--json]',
  summary: 'Live statistics: contacts per state and disposition, cost, pace, estimated completion',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    emit(cli, values.json, await readStats(cli, args[0]!), (s) => renderStats(s));
  },
};

const watch: Command = {
  usage: 'campaigns watch <id> [--json]',
  summary: 'Redraw progress every second until the campaign completes, is cancelled or stops (--json: one stats object per line)',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    const line = liveLine(cli.stdout);
    try {
      await untilInterrupted(async (signal) => {
        for (;;) {
          const s = await readStats(cli, args[0]!, signal);
          if (values.json) cli.stdout.write(`${JSON.stringify(s)}\n`);
          else line.draw(progressLine(s));
          if (finalStatuses.has(s.status)) return;
          await sleep(pollEveryMs, undefined, { signal });
        }
      });
    } finally {
      line.done();
    }
  },
};

export const campaignStatsCommands: Record<string, Command> = { stats, watch };

/**
 * Campaign chaos, in load mode: a campaign runs on two orchestration workers while one of
 * them is killed with SIGKILL every few seconds, in turn (and started again: each lives two
 * periods), and NATS is restarted once. Right after each kill the campaign's stats are
 * queried, as a dashboard would. When the campaign completes, the audit must find every contact accounted for once, no
 * attempt placed twice, attempts as the retry policy says.
 *
 *   npm run chaos -- [--contacts 10000] [--kill-every-s 5] [--no-nats-restart]
 *
 * A small version runs inside `npm test` (test/integration/campaign-chaos.test.ts).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadConfig, type Config } from '../../deploy/config.js';
import { createDb, type Db } from '../../deploy/db/schema.js';
import { stackDown, stackUp } from '../../deploy/stack/stack.js';
import { startProcess, type RunningProcess } from '../../test/helpers/processes.js';
import { campaignWorkflow } from '../../workflows/campaign/campaign.js';
import { campaignStatsQuery } from '../../workflows/campaign/messages.js';
import type { CampaignResult } from '../../workflows/campaign/types.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { machineInfo } from '../media/report.js';
import { auditCampaign, type CampaignAudit } from './audit.js';
import { loadCampaignConfig, numberedContacts, seedCampaign, seedTrunk } from './fixtures.js';

export interface ChaosOptions {
  contacts: number;
  /** One of the two workers is killed this often, in turn. */
  killEveryMs: number;
  /** Restart NATS once, when this share of the contacts has been dialled (0 = never). */
  natsRestartAt: number;
  callsPerSecond: number;
  maxConcurrentCalls: number;
  /** Load mode's time scale for ringing and talk. */
  timeScale: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** Stop killing after this many kills (the campaign then finishes at its own pace). */
  maxKills?: number;
}

export const defaultChaosOptions: ChaosOptions = {
  contacts: 10_000,
  killEveryMs: 5_000,
  natsRestartAt: 0.4,
  callsPerSecond: 20,
  maxConcurrentCalls: 40,
  timeScale: 0.005,
  timeoutMs: 3 * 3600_000,
};

export interface ChaosReport {
  options: ChaosOptions;
  result: CampaignResult;
  audit: CampaignAudit;
  kills: number;
  /** Stats queries answered of those sent right after each kill. */
  queriesAnswered: number;
  natsRestarted: boolean;
  durationS: number;
}

/** Bundles the workflows once, so each restarted worker is polling within a second or two. */
async function prebuiltBundle(config: Config): Promise<string> {
  const dir = path.join(config.paths.stackDir, 'bundles');
  mkdirSync(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error },
  });
  const file = path.join(dir, `workflows-${randomBytes(4).toString('hex')}.js`);
  await writeFile(file, code);
  return file;
}

/** Dials claimed so far (each claim counts an attempt) and contacts finished. */
async function progressOf(db: Db, campaignId: string): Promise<{ dials: number; done: number }> {
  const row = await db
    .selectFrom('contacts')
    .select((eb) => [eb.fn.coalesce(eb.fn.sum<number>('attempts'), eb.val(0)).as('dials'), eb.fn.countAll<number>().filterWhere('state', 'in', ['done', 'cancelled']).as('done')])
    .where('campaign_id', '=', campaignId)
    .executeTakeFirstOrThrow();
  return { dials: Number(row.dials), done: Number(row.done) };
}

export async function runCampaignChaos(opts: ChaosOptions, log: (line: string) => void = console.log): Promise<ChaosReport> {
  const config = loadConfig();
  const db = createDb(config.postgres.url, { maxConnections: 4 });
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const suffix = randomBytes(4).toString('hex');
  const tenantId = `chaos-${suffix}`;
  const campaignId = `cmp-${suffix}`;
  const taskQueue = `chaos-${suffix}`;
  const campaignConfig = loadCampaignConfig({ callsPerSecond: opts.callsPerSecond, maxConcurrentCalls: opts.maxConcurrentCalls });
  const workers: (RunningProcess | undefined)[] = [undefined, undefined];
  try {
    await seedTrunk(db, tenantId, { id: 'main', maxCallsPerSecond: 1000, maxChannels: 10_000 });
    await seedCampaign(db, tenantId, campaignId, campaignConfig, numberedContacts(opts.contacts));
    const bundle = await prebuiltBundle(config);
    const env = {
      KICKCALL_TELEPHONY: 'simulated',
      KICKCALL_DEPLOYMENT_DUTIES: 'false',
      KICKCALL_TELEPHONY_SEED: `chaos-${suffix}`,
      KICKCALL_TELEPHONY_TIME_SCALE: String(opts.timeScale),
      KICKCALL_CAPACITY_STT_STREAMS: '100000',
      KICKCALL_CAPACITY_TTS_STREAMS: '100000',
      KICKCALL_WORKFLOW_BUNDLE: bundle,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KICKCALL_LOG_LEVEL: 'info',
    };
    const startWorker = () => startProcess('workers/orchestration.ts', env, /orchestration worker polling/, 60_000);
    [workers[0], workers[1]] = await Promise.all([startWorker(), startWorker()]);
    const started = Date.now();
    const handle = await client.workflow.start(campaignWorkflow, {
      workflowId: campaignWorkflowId(tenantId, campaignId),
      taskQueue,
      args: [{ tenantId, campaignId, config: campaignConfig }],
    });
    log(`campaign ${campaignId}: ${opts.contacts} contacts on two workers; killing one every ${opts.killEveryMs / 1000} s`);

    let kills = 0;
    let queriesAnswered = 0;
    let natsRestarted = false;
    let done = false;
    const result = handle.result().finally(() => (done = true));
    while (!done) {
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, opts.killEveryMs))]);
      if (done) break;
      if (Date.now() - started > opts.timeoutMs) throw new Error(`the campaign did not complete within ${opts.timeoutMs / 1000} s`);
      const victim = kills < (opts.maxKills ?? Infinity) ? kills % 2 : undefined;
      if (victim !== undefined) {
        await workers[victim]!.kill();
        kills++;
      }
      // Asked at once, as a dashboard or the Temporal UI may: a query in the seconds after a
      // worker's death makes the SDK run the campaign with a stale task clock, which its
      // choices must not read (workflows/campaign/clock.ts). Answered or not, the run goes on.
      if (victim !== undefined) {
        const answered = await Promise.race([
          handle.query(campaignStatsQuery).then(() => true, () => false),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 15_000)),
        ]);
        if (answered) queriesAnswered++;
      }
      const stats = await progressOf(db, campaignId);
      if (!natsRestarted && opts.natsRestartAt > 0 && stats.dials >= opts.contacts * opts.natsRestartAt) {
        log('restarting NATS');
        await stackDown(() => undefined, config, ['nats-server']);
        await stackUp(() => undefined, ['nats-server']);
        log('NATS is back');
        natsRestarted = true;
      }
      if (victim !== undefined) workers[victim] = await startWorker();
      log(`killed ${kills}× · ${stats.dials} dials · ${stats.done}/${opts.contacts} done`);
    }
    const final = await result;
    const audit = await auditCampaign(db, campaignId, campaignConfig.retry);
    const report = { options: opts, result: final, audit, kills, queriesAnswered, natsRestarted, durationS: (Date.now() - started) / 1000 };
    log(`completed in ${report.durationS.toFixed(0)} s after ${kills} kills: ${audit.contacts} contacts, ${audit.calls} calls, ${audit.reattachedDials} dials re-attached after a crash, ${audit.problems.length} problems`);
    return report;
  } finally {
    await Promise.all(workers.map((w) => w?.stop(5_000) ?? Promise.resolve()));
    await db.destroy();
    await connection.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: { contacts: { type: 'string' }, 'kill-every-s': { type: 'string' }, 'no-nats-restart': { type: 'boolean' } },
    strict: true,
  });
  const contacts = Number(values.contacts ?? defaultChaosOptions.contacts);
  const killEveryS = Number(values['kill-every-s'] ?? defaultChaosOptions.killEveryMs / 1000);
  if (!Number.isInteger(contacts) || contacts < 1 || contacts > 200_000) throw new Error('--contacts must be a whole number from 1 to 200000');
  if (!(killEveryS >= 1 && killEveryS <= 600)) throw new Error('--kill-every-s must be between 1 and 600');
  const report = await runCampaignChaos({ ...defaultChaosOptions, contacts, killEveryMs: killEveryS * 1000, natsRestartAt: values['no-nats-restart'] ? 0 : defaultChaosOptions.natsRestartAt });
  for (const p of report.audit.problems.slice(0, 20)) console.error(`  ✗ ${p}`);
  const rerun = `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim();
  const written = writeChaosResults(report, rerun);
  console.log(`results: ${written.json}, ${written.markdown}`);
  process.exitCode = report.audit.problems.length === 0 && report.result.status === 'completed' ? 0 : 1;
}

/** Writes bench/results/chaos-<date>.json and bench/results/chaos.md. */
function writeChaosResults(report: ChaosReport, rerun: string): { json: string; markdown: string } {
  const date = new Date().toISOString().slice(0, 10);
  const results = { benchmark: 'chaos', date, finishedAt: new Date().toISOString(), ...machineInfo(), ...report };
  const jsonName = `chaos-${date}.json`;
  const json = fileURLToPath(new URL(`../results/${jsonName}`, import.meta.url));
  const markdown = fileURLToPath(new URL('../results/chaos.md', import.meta.url));
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const { options: o, audit: a, result: r } = report;
  const m = results.machine;
  writeFileSync(
    markdown,
    `# Campaign chaos run (load mode)

Run ${results.finishedAt} at \`${results.gitCommit.slice(0, 12)}\`${results.gitDirty ? ' (uncommitted changes)' : ''} on ${m.nproc} × ${m.cpuModel}, ${m.memTotalMiB} MiB, Node ${m.node}. Figures: [\`${jsonName}\`](${jsonName}).

A campaign of ${o.contacts} contacts at ${o.callsPerSecond} calls/s (at most ${o.maxConcurrentCalls} at once) ran on two orchestration workers in load mode; one of them was killed with SIGKILL every ${o.killEveryMs / 1000} s, in turn, and started again, and right after each kill its stats were queried (${report.queriesAnswered} of ${report.kills} answered); NATS was ${report.natsRestarted ? `restarted once, when the dials reached ${o.natsRestartAt * 100} % of the contact count` : 'not restarted'}. When the campaign ended, \`bench/campaign/audit.ts\` checked every contact and call in PostgreSQL against load mode's carrier ledger.

| campaign | contacts | dials | workers killed | NATS restarted | duration | contacts audited | calls audited | dials re-attached after a crash | problems |
|---|---|---|---|---|---|---|---|---|---|
| ${r.status} | ${r.contacts.total} | ${r.dials} | ${report.kills} | ${report.natsRestarted ? 'yes' : 'no'} | ${report.durationS.toFixed(0)} s | ${a.contacts} | ${a.calls} | ${a.reattachedDials} | **${a.problems.length}** |

Final dispositions: ${Object.entries(r.contacts.dispositions ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}.

The audit's promises: every contact ends in a final state exactly once; no contact attempt reached the carrier twice (a dial re-attached after a crash is the same attempt finding its call, not a second call); the attempts per contact and the delays between them are what the retry policy says; nothing is lost.${a.problems.length > 0 ? `\n\nProblems:\n\n${a.problems.slice(0, 50).map((p) => `- ${p}`).join('\n')}` : ''}

## Rerun

\`\`\`sh
${rerun}
\`\`\`
`,
  );
  return { json, markdown };
}

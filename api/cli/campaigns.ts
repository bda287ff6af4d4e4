/**
 * `kickcall campaigns ...`: create one from a config file and a contacts CSV (streamed),
 * list, read, start, pause, resume and cancel them. Statistics and `watch` are in
 * campaign-stats.ts.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { unwrap, type ImportQuery, type paths } from '../client/index.js';
import { emit, moreHint, pageOptions, pageQuery, parse, required, UsageError, type Cli, type Command } from './command.js';
import { fields, table, usd, when } from './format.js';
import { fileSize, renderImportReport, uploadContactsFile } from './upload.js';

type Campaign = paths['/v1/campaigns/{campaignId}']['get']['responses'][200]['content']['application/json'];
type CampaignConfig = paths['/v1/campaigns']['post']['requestBody']['content']['application/json']['config'];

/** The parts of a campaign's config worth a line each; the API returns the config as stored. */
const configSummary = z.object({ trunkId: z.string(), callsPerSecond: z.number(), maxConcurrentCalls: z.number(), budgetUsd: z.number(), endsAt: z.string() }).partial();

const importOptions = {
  'default-region': { type: 'string' },
  'default-time-zone': { type: 'string' },
  'consent-by-default': { type: 'boolean' },
} as const;

function importQuery(values: { 'default-region'?: string; 'default-time-zone'?: string; 'consent-by-default'?: boolean }): ImportQuery {
  return {
    ...(values['default-region'] && { defaultRegion: values['default-region'] }),
    ...(values['default-time-zone'] && { defaultTimeZone: values['default-time-zone'] }),
    ...(values['consent-by-default'] !== undefined && { consentByDefault: values['consent-by-default'] ? 'true' : 'false' }),
  };
}

async function readConfig(path: string): Promise<CampaignConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--config: cannot read ${path}`, { cause: err });
  }
  try {
    // Checked by the API, which names any wrong field in its 400.
    return JSON.parse(text) as CampaignConfig;
  } catch (err) {
    throw new UsageError(`--config: ${path} is not valid JSON`, { cause: err });
  }
}

export function renderCampaign(c: Campaign): string {
  const config = configSummary.safeParse(c.config);
  const cfg = config.success ? config.data : {};
  return fields([
    ['id', c.id],
    ['name', c.name],
    ['status', c.stopReason && c.stopReason !== c.status ? `${c.status} (${c.stopReason})` : c.status],
    ['trunk', cfg.trunkId],
    ['pace', cfg.callsPerSecond !== undefined ? `${cfg.callsPerSecond} calls/s, at most ${cfg.maxConcurrentCalls ?? '?'} at once` : undefined],
    ['budget', cfg.budgetUsd !== undefined ? usd(cfg.budgetUsd) : undefined],
    ['ends', cfg.endsAt && when(cfg.endsAt)],
    ['created', when(c.createdAt)],
    ['started', when(c.startedAt)],
    ['finished', when(c.finishedAt)],
  ]);
}

const startCampaign = (cli: Cli, campaignId: string) => unwrap(cli.client.POST('/v1/campaigns/{campaignId}/start', { params: { path: { campaignId } }, body: {} }));

const create: Command = {
  usage: 'campaigns create --name <name> --config <campaign.json> --contacts <contacts.csv> [--start] [--default-region US] [--default-time-zone <zone>] [--consent-by-default] [--json]',
  summary: 'Create a campaign, upload its contacts (streamed) and print the import report; --start starts it',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: { name: { type: 'string' }, config: { type: 'string' }, contacts: { type: 'string' }, start: { type: 'boolean' }, ...importOptions } });
    const name = required(values.name, 'name', this.usage);
    const config = await readConfig(required(values.config, 'config', this.usage));
    const contacts = required(values.contacts, 'contacts', this.usage);
    await fileSize(contacts, '--contacts'); // before anything is created
    const campaign = await unwrap(cli.client.POST('/v1/campaigns', { body: { name, config } }));
    if (!values.json) cli.stdout.write(`Created campaign ${campaign.id} (${campaign.status}).\n`);
    let report;
    try {
      report = await uploadContactsFile(cli, { campaignId: campaign.id, path: contacts, query: importQuery(values) });
    } catch (err) {
      cli.stderr.write(`note: campaign ${campaign.id} stays a draft; upload again with \`kickcall campaigns import ${campaign.id} --contacts ${contacts}\`\n`);
      throw err;
    }
    const started = values.start ? await startCampaign(cli, campaign.id) : undefined;
    emit(cli, values.json, { campaign, import: report, ...(started && { started }) }, (d) =>
      [renderImportReport(d.import), d.started ? `\nStarted: ${d.started.id} is ${d.started.status}.` : `\nStart it with: kickcall campaigns start ${campaign.id}`].join('\n'),
    );
  },
};

const importContacts: Command = {
  usage: 'campaigns import <id> --contacts <contacts.csv> [--default-region US] [--default-time-zone <zone>] [--consent-by-default] [--json]',
  summary: 'Upload more contacts to a campaign (streamed) and print the import report',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { contacts: { type: 'string' }, ...importOptions }, positionals: ['id'] });
    const report = await uploadContactsFile(cli, { campaignId: args[0]!, path: required(values.contacts, 'contacts', this.usage), query: importQuery(values) });
    emit(cli, values.json, report, renderImportReport);
  },
};

const list: Command = {
  usage: 'campaigns list [--status <status>] [--limit <n>] [--cursor <cursor>] [--json]',
  summary: 'List campaigns, newest first',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: { status: { type: 'string' }, ...pageOptions } });
    const query = { ...(values.status && { status: values.status }), ...pageQuery(values, this.usage) };
    const page = await unwrap(cli.client.GET('/v1/campaigns', { params: { query } }));
    emit(cli, values.json, page, (p) => table(['ID', 'NAME', 'STATUS', 'CREATED'], p.items.map((c) => [c.id, c.name, c.status, when(c.createdAt)])) + moreHint(p.nextCursor));
  },
};

const get: Command = {
  usage: 'campaigns get <id> [--json]',
  summary: 'A campaign',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    emit(cli, values.json, await unwrap(cli.client.GET('/v1/campaigns/{campaignId}', { params: { path: { campaignId: args[0]! } } })), renderCampaign);
  },
};

const start: Command = {
  usage: 'campaigns start <id> [--json]',
  summary: 'Start dialling a draft campaign',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    emit(cli, values.json, await startCampaign(cli, args[0]!), (r) => `${r.id}: ${r.status}`);
  },
};

/** Pause and resume: same shape, no body. */
const control = (name: 'pause' | 'resume', summary: string): Command => ({
  usage: `campaigns ${name} <id> [--json]`,
  summary,
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    const result = await unwrap(cli.client.POST(`/v1/campaigns/{campaignId}/${name}`, { params: { path: { campaignId: args[0]! } }, body: {} }));
    emit(cli, values.json, result, (r) => `${r.id}: ${r.status}`);
  },
});

const cancel: Command = {
  usage: 'campaigns cancel <id> --reason <reason> [--json]',
  summary: 'Cancel: queued contacts are cancelled with the reason; calls in progress finish',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { reason: { type: 'string' } }, positionals: ['id'] });
    const reason = required(values.reason, 'reason', this.usage);
    const result = await unwrap(cli.client.POST('/v1/campaigns/{campaignId}/cancel', { params: { path: { campaignId: args[0]! } }, body: { reason } }));
    emit(cli, values.json, result, (r) => `${r.id}: ${r.status}`);
  },
};

export const campaignCommands: Record<string, Command> = {
  create,
  import: importContacts,
  list,
  get,
  start,
  pause: control('pause', 'Pause: no new calls; calls in progress finish'),
  resume: control('resume', 'Resume a paused campaign'),
  cancel,
};

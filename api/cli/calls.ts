/**
 * `kickcall calls ...`: list and read calls, print a transcript (or follow it live until
 * the call ends), its post-call analysis, and hang a live call up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { unwrap, type paths } from '../client/index.js';
import { emit, moreHint, pageOptions, pageQuery, parse, untilInterrupted, type Cli, type Command } from './command.js';
import { fields, table, usd, when } from './format.js';

type Call = paths['/v1/calls/{callId}']['get']['responses'][200]['content']['application/json'];
type Turn = Call['turns'][number];

/** How often `transcript --follow` polls, in ms. */
const pollEveryMs = 1000;

const readCall = (cli: Cli, callId: string, signal?: AbortSignal) => unwrap(cli.client.GET('/v1/calls/{callId}', { params: { path: { callId } }, ...(signal && { signal }) }));

const renderTurn = (t: Turn) => `[${when(t.at).slice(11)}] ${t.role === 'agent' ? 'agent' : 'user '}: ${t.text}${t.interrupted ? ' (interrupted)' : ''}`;

function renderCall(c: Call): string {
  return fields([
    ['id', c.id],
    ['campaign', c.campaignId],
    ['direction', c.direction],
    ['status', c.status],
    ['disposition', c.disposition],
    ['end reason', c.endReason],
    ['attempt', c.attempt],
    ['next attempt', c.nextAttemptId],
    ['sip status', c.sipStatusCode],
    ['created', when(c.createdAt)],
    ['answered', when(c.answeredAt)],
    ['ended', when(c.endedAt)],
    ['turns', c.turns.length],
    ['analysis', c.analysis ? (c.analysis.status === 'ok' ? (c.analysis.summary ?? 'ok') : `failed: ${c.analysis.error ?? 'unknown'}`) : null],
    ['usage', `${c.usage.sttAudioS.toFixed(1)} s heard, ${c.usage.ttsCharacters} characters spoken, ${c.usage.llmInputTokens}+${c.usage.llmOutputTokens} tokens`],
    ['cost', c.costUsd === null ? null : usd(c.costUsd)],
  ]);
}

function renderAnalysis(d: { callId: string; analysis: Call['analysis']; answers: Call['answers'] }): string {
  const a = d.analysis;
  if (!a) return `No analysis for ${d.callId} yet: it comes after the call ends, when the call asked for one.`;
  if (a.status === 'failed') return `Analysis of ${d.callId} failed: ${a.error ?? 'unknown error'}`;
  const extracted = Object.entries((a.fields ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [`  ${k}`, JSON.stringify(v)]);
  const answers = Object.entries(d.answers).map(([k, v]): [string, string] => [`  ${k}`, v]);
  return fields([
    ['summary', a.summary],
    ['disposition', a.disposition],
    ['sentiment', a.sentiment],
    ['goal met', a.goalMet === null ? null : a.goalMet ? 'yes' : 'no'],
    ...(extracted.length ? [['fields', ''] as [string, string], ...extracted] : []),
    ...(answers.length ? [['answers', ''] as [string, string], ...answers] : []),
  ]);
}

const list: Command = {
  usage: 'calls list [--campaign <id>] [--status <status>] [--disposition <disposition>] [--limit <n>] [--cursor <cursor>] [--json]',
  summary: 'List calls, newest first',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: { campaign: { type: 'string' }, status: { type: 'string' }, disposition: { type: 'string' }, ...pageOptions } });
    const query = {
      ...(values.campaign && { campaignId: values.campaign }),
      ...(values.status && { status: values.status }),
      ...(values.disposition && { disposition: values.disposition }),
      ...pageQuery(values, this.usage),
    };
    const page = await unwrap(cli.client.GET('/v1/calls', { params: { query } }));
    emit(cli, values.json, page, (p) => table(['ID', 'STATUS', 'DISPOSITION', 'ATTEMPT', 'CREATED'], p.items.map((c) => [c.id, c.status, c.disposition ?? '-', String(c.attempt), when(c.createdAt)])) + moreHint(p.nextCursor));
  },
};

const get: Command = {
  usage: 'calls get <id> [--json]',
  summary: 'A call with its status, usage and cost',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    emit(cli, values.json, await readCall(cli, args[0]!), renderCall);
  },
};

/** Prints turns as they arrive until the call has ended (one more poll after, for turns still in flight). */
function follow(cli: Cli, callId: string, json: boolean | undefined): Promise<void> {
  let printed = -1;
  let endedPolls = 0;
  return untilInterrupted(async (signal) => {
    for (;;) {
      const call = await readCall(cli, callId, signal);
      for (const t of call.turns.filter((t) => t.seq > printed)) {
        cli.stdout.write(json ? `${JSON.stringify(t)}\n` : `${renderTurn(t)}\n`);
        printed = t.seq;
      }
      if (call.endedAt && ++endedPolls === 2) {
        if (!json) cli.stderr.write(`call ended (${call.disposition ?? call.status})\n`);
        return;
      }
      await sleep(pollEveryMs, undefined, { signal });
    }
  });
}

const transcript: Command = {
  usage: 'calls transcript <id> [--follow] [--json]',
  summary: 'A call’s turns; --follow prints new ones as they arrive until the call ends (--json: one turn per line)',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { follow: { type: 'boolean', short: 'f' } }, positionals: ['id'] });
    if (values.follow) return follow(cli, args[0]!, values.json);
    const t = await unwrap(cli.client.GET('/v1/calls/{callId}/transcript', { params: { path: { callId: args[0]! } } }));
    emit(cli, values.json, t, (d) => (d.turns.length ? d.turns.map(renderTurn).join('\n') : '(no turns)'));
  },
};

const analysis: Command = {
  usage: 'calls analysis <id> [--json]',
  summary: 'A call’s post-call analysis and the answers it recorded',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    const call = await readCall(cli, args[0]!);
    emit(cli, values.json, { callId: call.id, analysis: call.analysis, answers: call.answers }, renderAnalysis);
  },
};

const hangup: Command = {
  usage: 'calls hangup <id> [--reason <reason>] [--json]',
  summary: 'End a live call now',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { reason: { type: 'string' } }, positionals: ['id'] });
    const result = await unwrap(cli.client.POST('/v1/calls/{callId}/hangup', { params: { path: { callId: args[0]! } }, body: values.reason ? { reason: values.reason } : {} }));
    emit(cli, values.json, result, (r) => `${r.id}: hanging up`);
  },
};

export const callCommands: Record<string, Command> = { list, get, transcript, analysis, hangup };

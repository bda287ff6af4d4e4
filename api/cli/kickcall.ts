#!/usr/bin/env tsx
/**
 * `kickcall`: the Kickcall API from a terminal, over the typed client. Settings come from
 * KICKCALL_API_URL (default http://127.0.0.1:8080) and KICKCALL_API_KEY. Exit codes: 0
 * done, 1 the API refused or could not be reached (`error: <title>: <detail>` on stderr),
 * 2 a usage error.
 */
import { createKickcallClient, KickcallApiError, KickcallConnectionError } from '../client/index.js';
import { apiKeyCommands } from './api-keys.js';
import { campaignStatsCommands } from './campaign-stats.js';
import { campaignCommands } from './campaigns.js';
import { callCommands } from './calls.js';
import { loadSettings, UsageError, type Cli, type Command } from './command.js';
import { doNotCallCommands } from './do-not-call.js';
import { webhookCommands } from './webhooks.js';

const groups: Record<string, Record<string, Command>> = {
  campaigns: { ...campaignCommands, ...campaignStatsCommands },
  calls: callCommands,
  dnc: doNotCallCommands,
  keys: apiKeyCommands,
  webhooks: webhookCommands,
};

function help(only?: string): string {
  const lines = ['usage: kickcall <group> <command> [options] [--json]', '', `Settings: KICKCALL_API_KEY (required), KICKCALL_API_URL (default http://127.0.0.1:8080).`, '--json prints the API\'s data as is; --help after a command shows its usage.'];
  for (const [name, commands] of Object.entries(groups)) {
    if (only && only !== name) continue;
    lines.push('');
    for (const c of Object.values(commands)) lines.push(`  kickcall ${c.usage}`, `      ${c.summary}`);
  }
  return lines.join('\n');
}

/** Finds the command, checks the settings, runs it. Returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const [groupName, commandName, ...rest] = argv;
  if (!groupName || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    (groupName ? process.stdout : process.stderr).write(`${help()}\n`);
    return groupName ? 0 : 2;
  }
  const group = groups[groupName];
  if (!group) throw new UsageError(`unknown command group ${JSON.stringify(groupName)}`, { usage: help() });
  const command = commandName ? group[commandName] : undefined;
  if (!command) {
    if (commandName === '--help' || commandName === '-h') {
      process.stdout.write(`${help(groupName)}\n`);
      return 0;
    }
    throw new UsageError(commandName ? `unknown command ${JSON.stringify(`${groupName} ${commandName}`)}` : `${groupName}: which command?`, { usage: help(groupName) });
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: kickcall ${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  const settings = loadSettings(process.env);
  const cli: Cli = { client: createKickcallClient({ baseUrl: settings.apiUrl, apiKey: settings.apiKey }), stdout: process.stdout, stderr: process.stderr };
  await command.run(cli, rest);
  return 0;
}

/** Prints an error the way a person reads it; returns the exit code. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n${err.usage ? `${err.usage.startsWith('usage:') ? err.usage : `usage: kickcall ${err.usage}`}\n` : ''}`);
    return 2;
  }
  if (err instanceof KickcallApiError) {
    process.stderr.write(`error: ${err.title}${err.detail ? `: ${err.detail}` : ''}\n`);
    return 1;
  }
  if (err instanceof KickcallConnectionError) {
    // fetch fails with `fetch failed`; what went wrong is in its cause (ECONNREFUSED, bad port, ...).
    const cause = err.cause as { message?: string; cause?: { code?: string; message?: string } } | undefined;
    process.stderr.write(`error: ${err.message} (${cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? 'network error'})\n`);
    return 1;
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2)).catch(report);

/**
 * What every `kickcall` command shares: its settings (read once, from the environment),
 * the declaration of a command, argument parsing that turns every mistake into a
 * `UsageError` (exit 2), and output that is either for people or, with `--json`, the
 * API's data as is.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import type { KickcallClient } from '../client/index.js';

/** The command line was wrong: the usage is printed and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly retryable = false;
  /** The command's usage line, printed under the message. */
  readonly usage: string | undefined;
  constructor(message: string, options?: { cause?: unknown; usage?: string }) {
    super(message, options);
    this.usage = options?.usage;
  }
}

/** Environment variable names, in one place. */
export const envKeys = { apiUrl: 'KICKCALL_API_URL', apiKey: 'KICKCALL_API_KEY' } as const;

const settingsSchema = z.object({
  [envKeys.apiUrl]: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  [envKeys.apiKey]: z.string({ error: `${envKeys.apiKey} is not set: make a key with \`npm run api-key -- --tenant <id> --role admin\` and export it` }).min(1),
});

export interface Settings {
  apiUrl: string;
  apiKey: string;
}

/** Reads the settings, or throws a `UsageError` naming what is missing or wrong. */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const parsed = settingsSchema.safeParse({ [envKeys.apiUrl]: env[envKeys.apiUrl] || undefined, [envKeys.apiKey]: env[envKeys.apiKey] || undefined });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => (i.path[0] === envKeys.apiUrl ? `${envKeys.apiUrl}: ${i.message}` : i.message)).join('\n'));
  return { apiUrl: parsed.data[envKeys.apiUrl], apiKey: parsed.data[envKeys.apiKey] };
}

/** What a command runs with. */
export interface Cli {
  client: KickcallClient;
  /** Results; `isTTY` decides whether progress is redrawn in place. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Errors, notes and the upload's progress bar. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Command {
  /** How it is called, e.g. `campaigns get <id>`. */
  usage: string;
  summary: string;
  run: (cli: Cli, argv: string[]) => Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;
const commonOptions = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const satisfies Options;

/**
 * Parses a command's arguments: its options (plus `--json`), then exactly the named
 * positionals. Unknown options, missing values and extra arguments are usage errors.
 */
export function parse<const O extends Options>(argv: string[], spec: { usage: string; options?: O; positionals?: readonly string[] }) {
  const fail = (message: string, cause?: unknown) => new UsageError(message, { cause, usage: spec.usage });
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...commonOptions, ...(spec.options as O) }, allowPositionals: true, strict: true });
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err), err);
  }
  const wanted = spec.positionals ?? [];
  if (parsed.positionals.length < wanted.length) throw fail(`missing ${wanted.slice(parsed.positionals.length).map((p) => `<${p}>`).join(' ')}`);
  if (parsed.positionals.length > wanted.length) throw fail(`unexpected argument ${JSON.stringify(parsed.positionals[wanted.length])}`);
  return { values: parsed.values, args: parsed.positionals };
}

/** A required string option: a `UsageError` when absent or empty. */
export function required(value: string | undefined, name: string, usage: string): string {
  if (!value) throw new UsageError(`--${name} is required`, { usage });
  return value;
}

/** Prints `data` as JSON with `--json`, else the human rendering. */
export function emit<T>(cli: Cli, json: boolean | undefined, data: T, human: (data: T) => string): void {
  cli.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human(data)}\n`);
}

/** An optional whole-number option, e.g. `--limit 20`: a `UsageError` when it is not one. */
export function intOption(value: string | undefined, name: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a whole number, got ${JSON.stringify(value)}`, { usage });
  return n;
}

/** `--limit` and `--cursor` of list commands. */
export const pageOptions = { limit: { type: 'string' }, cursor: { type: 'string' } } as const satisfies Options;

export function pageQuery(values: { limit?: string; cursor?: string }, usage: string): { limit?: number; cursor?: string } {
  const limit = intOption(values.limit, 'limit', usage);
  return { ...(limit !== undefined && { limit }), ...(values.cursor && { cursor: values.cursor }) };
}

/** The footer of a page that has more. */
export const moreHint = (nextCursor: string | null) => (nextCursor ? `\nmore: --cursor ${nextCursor}` : '');

/**
 * Runs a polling loop until it returns or Ctrl-C aborts its signal; Ctrl-C then ends it
 * quietly (exit 0). A second Ctrl-C kills the process as usual.
 */
export async function untilInterrupted(body: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    await body(controller.signal);
  } catch (err) {
    if (!(controller.signal.aborted && err instanceof Error && err.name === 'AbortError')) throw err;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

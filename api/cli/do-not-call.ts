/**
 * `kickcall dnc ...`: the tenant's do-not-call list. Numbers are masked in human output;
 * `--json` gives them whole.
 */
import { unwrap } from '../client/index.js';
import { emit, moreHint, pageOptions, pageQuery, parse, type Command } from './command.js';
import { maskPhone, table, when } from './format.js';

const add: Command = {
  usage: 'dnc add <phone> [--source <label>] [--json]',
  summary: 'Add a number (E.164) to the do-not-call list; campaign contacts with it are not called',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { source: { type: 'string' } }, positionals: ['phone'] });
    const result = await unwrap(cli.client.POST('/v1/do-not-call', { body: { phone: args[0]!, ...(values.source && { source: values.source }) } }));
    emit(cli, values.json, result, (r) => `Added ${maskPhone(r.phone)}; ${r.contactsRemoved} campaign contact(s) will not be called.`);
  },
};

const list: Command = {
  usage: 'dnc list [--limit <n>] [--cursor <cursor>] [--json]',
  summary: 'List do-not-call entries, newest first (numbers masked)',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: pageOptions });
    const page = await unwrap(cli.client.GET('/v1/do-not-call', { params: { query: pageQuery(values, this.usage) } }));
    emit(cli, values.json, page, (p) => table(['PHONE', 'SOURCE', 'ADDED'], p.items.map((e) => [maskPhone(e.phone), e.source, when(e.createdAt)])) + moreHint(p.nextCursor));
  },
};

const remove: Command = {
  usage: 'dnc remove <phone> [--json]',
  summary: 'Take a number off the do-not-call list',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['phone'] });
    await unwrap(cli.client.DELETE('/v1/do-not-call', { body: { phone: args[0]! } }));
    emit(cli, values.json, { removed: true }, () => `Removed ${maskPhone(args[0]!)} from the do-not-call list.`);
  },
};

export const doNotCallCommands: Record<string, Command> = { add, list, remove };

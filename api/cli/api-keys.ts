/**
 * `kickcall keys ...`: API keys of the tenant (admin keys only). A new key's secret is
 * printed once, when it is made.
 */
import { unwrap } from '../client/index.js';
import { emit, parse, required, UsageError, type Command } from './command.js';
import { fields, table, when } from './format.js';

const roles = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof roles)[number];
const isRole = (r: string): r is Role => (roles as readonly string[]).includes(r);

const create: Command = {
  usage: 'keys create --name <name> --role viewer|operator|admin [--json]',
  summary: 'Make an API key; its secret is shown once',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: { name: { type: 'string' }, role: { type: 'string' } } });
    const name = required(values.name, 'name', this.usage);
    const role = required(values.role, 'role', this.usage);
    if (!isRole(role)) throw new UsageError(`--role: expected one of ${roles.join(', ')}`, { usage: this.usage });
    const key = await unwrap(cli.client.POST('/v1/api-keys', { body: { name, role } }));
    emit(cli, values.json, key, (k) => `${fields([['id', k.id], ['name', k.name], ['role', k.role], ['prefix', k.prefix]])}\n\nThe key, shown once:\n${k.key}`);
  },
};

const list: Command = {
  usage: 'keys list [--json]',
  summary: 'List API keys (prefixes, never secrets)',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage });
    const keys = await unwrap(cli.client.GET('/v1/api-keys'));
    emit(cli, values.json, keys, (d) =>
      table(['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'], d.items.map((k) => [k.id, k.name, k.role, k.prefix, when(k.createdAt), when(k.lastUsedAt), when(k.revokedAt)])),
    );
  },
};

const revoke: Command = {
  usage: 'keys revoke <id> [--json]',
  summary: 'Revoke an API key (refused from its next request)',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, positionals: ['id'] });
    const key = await unwrap(cli.client.DELETE('/v1/api-keys/{keyId}', { params: { path: { keyId: args[0]! } } }));
    emit(cli, values.json, key, (k) => `Revoked ${k.id} (${k.name}, ${k.prefix}) at ${when(k.revokedAt)}.`);
  },
};

export const apiKeyCommands: Record<string, Command> = { create, list, revoke };

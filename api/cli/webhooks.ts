/**
 * `kickcall webhooks ...`: webhook endpoints (admin keys only), their delivery log, and
 * secret rotation. A signing secret is printed once: when the endpoint is made or rotated.
 */
import { unwrap, type paths } from '../client/index.js';
import { emit, intOption, parse, required, type Command } from './command.js';
import { fields, table, when } from './format.js';

type Endpoint = paths['/v1/webhook-endpoints/{endpointId}']['get']['responses'][200]['content']['application/json'];
type EventType = Endpoint['eventTypes'][number];

const renderEndpoint = (e: Endpoint) =>
  fields([
    ['id', e.id],
    ['url', e.url],
    ['events', e.eventTypes.join(', ')],
    ['enabled', e.enabled ? 'yes' : 'no'],
    ['description', e.description],
    ['previous secret until', e.previousSecretExpiresAt && when(e.previousSecretExpiresAt)],
    ['created', when(e.createdAt)],
  ]);

const withSecret = (e: Endpoint & { secret: string }) => `${renderEndpoint(e)}\n\nSigning secret, shown once:\n${e.secret}`;

const create: Command = {
  usage: 'webhooks create --url <url> --events <type,type,...> [--description <text>] [--json]',
  summary: 'Add a webhook endpoint; its signing secret is shown once',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage, options: { url: { type: 'string' }, events: { type: 'string' }, description: { type: 'string' } } });
    const url = required(values.url, 'url', this.usage);
    // Event names are checked by the API, whose 400 lists the valid ones.
    const eventTypes = required(values.events, 'events', this.usage).split(',').map((e) => e.trim()).filter(Boolean) as EventType[];
    const endpoint = await unwrap(cli.client.POST('/v1/webhook-endpoints', { body: { url, eventTypes, ...(values.description && { description: values.description }) } }));
    emit(cli, values.json, endpoint, withSecret);
  },
};

const list: Command = {
  usage: 'webhooks list [--json]',
  summary: 'List webhook endpoints',
  async run(cli, argv) {
    const { values } = parse(argv, { usage: this.usage });
    const endpoints = await unwrap(cli.client.GET('/v1/webhook-endpoints'));
    emit(cli, values.json, endpoints, (d) => table(['ID', 'ENABLED', 'EVENTS', 'URL'], d.items.map((e) => [e.id, e.enabled ? 'yes' : 'no', e.eventTypes.join(','), e.url])));
  },
};

const deliveries: Command = {
  usage: 'webhooks deliveries <id> [--event <eventId>] [--limit <n>] [--json]',
  summary: 'Delivery attempts to an endpoint, newest first',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { event: { type: 'string' }, limit: { type: 'string' } }, positionals: ['id'] });
    const limit = intOption(values.limit, 'limit', this.usage);
    const query = { ...(limit !== undefined && { limit }), ...(values.event && { eventId: values.event }) };
    const log = await unwrap(cli.client.GET('/v1/webhook-endpoints/{endpointId}/deliveries', { params: { path: { endpointId: args[0]! }, query } }));
    emit(cli, values.json, log, (d) =>
      table(
        ['AT', 'EVENT', 'TYPE', 'ATTEMPT', 'OUTCOME', 'STATUS', 'MS', 'ERROR'],
        d.items.map((a) => [when(a.attemptedAt), a.eventId, a.eventType, String(a.attempt), a.outcome, a.responseStatus === null ? '-' : String(a.responseStatus), String(a.durationMs), a.error ?? '']),
      ),
    );
  },
};

const rotate: Command = {
  usage: 'webhooks rotate <id> [--grace-s <seconds>] [--json]',
  summary: 'Rotate the signing secret; the old one keeps signing for the grace period (default a day)',
  async run(cli, argv) {
    const { values, args } = parse(argv, { usage: this.usage, options: { 'grace-s': { type: 'string' } }, positionals: ['id'] });
    const graceS = intOption(values['grace-s'], 'grace-s', this.usage);
    const endpoint = await unwrap(cli.client.POST('/v1/webhook-endpoints/{endpointId}/rotate-secret', { params: { path: { endpointId: args[0]! } }, body: graceS === undefined ? {} : { graceS } }));
    emit(cli, values.json, endpoint, withSecret);
  },
};

export const webhookCommands: Record<string, Command> = { create, list, deliveries, rotate };

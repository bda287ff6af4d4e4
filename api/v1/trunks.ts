/**
 * Outbound trunks and their caller IDs: where calls leave for the carrier, and the
 * carrier's limits (calls per second, channels) every campaign of the tenant shares.
 */
import { z } from 'zod';
import { ApiProblem, notFound, problem } from '../problem.js';
import { defineRoute } from '../route.js';
import { e164, idParam } from '../schemas.js';

const trunk = z.object({ id: z.string(), address: z.string(), numbers: z.array(z.string()), maxCallsPerSecond: z.number(), maxChannels: z.number().int(), createdAt: z.string() });
type TrunkRow = { id: string; address: string; numbers: string[]; max_calls_per_second: number; max_channels: number; created_at: Date };
const toTrunk = (t: TrunkRow) => ({ id: t.id, address: t.address, numbers: t.numbers, maxCallsPerSecond: t.max_calls_per_second, maxChannels: t.max_channels, createdAt: t.created_at.toISOString() });
const columns = ['id', 'address', 'numbers', 'max_calls_per_second', 'max_channels', 'created_at'] as const;

export function trunkRoutes() {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/trunks',
      operationId: 'createTrunk',
      summary: 'Add an outbound trunk',
      tag: 'Trunks',
      role: 'admin',
      body: z.strictObject({
        id: idParam,
        address: z.string().regex(/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/, 'expected host or host:port').meta({ description: 'The carrier’s SIP address.' }),
        numbers: z.array(e164).min(1).max(1000).meta({ description: 'Caller IDs the trunk may present.' }),
        maxCallsPerSecond: z.number().min(0.01).max(1000),
        maxChannels: z.number().int().min(1).max(100_000),
      }),
      responses: { 201: { description: 'The trunk.', schema: trunk }, 409: { description: 'A trunk with this ID exists.' } },
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        setResourceId(body.id);
        const row = await tenantDb(async (tx) => {
          const inserted = await tx
            .insertInto('outbound_trunks')
            .values({ tenant_id: principal.tenantId, id: body.id, address: body.address, numbers: JSON.stringify(body.numbers), max_calls_per_second: body.maxCallsPerSecond, max_channels: body.maxChannels })
            .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
            .returning(columns)
            .executeTakeFirst();
          if (!inserted) throw new ApiProblem(problem('conflict', 409, 'Conflict', `Trunk ${body.id} exists.`));
          return inserted;
        });
        return { status: 201, body: toTrunk(row), headers: { location: `/v1/trunks/${body.id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/trunks',
      operationId: 'listTrunks',
      summary: 'List outbound trunks',
      tag: 'Trunks',
      role: 'viewer',
      responses: { 200: { description: 'Every trunk of the tenant.', schema: z.object({ items: z.array(trunk) }) } },
      handler: async ({ tenantDb }) => ({ status: 200, body: { items: (await tenantDb((tx) => tx.selectFrom('outbound_trunks').select(columns).orderBy('id').execute())).map(toTrunk) } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/trunks/:trunkId',
      operationId: 'getTrunk',
      summary: 'An outbound trunk',
      tag: 'Trunks',
      role: 'viewer',
      params: z.object({ trunkId: idParam }),
      responses: { 200: { description: 'The trunk.', schema: trunk }, 404: { description: 'No such trunk in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const row = await tenantDb((tx) => tx.selectFrom('outbound_trunks').select(columns).where('id', '=', params.trunkId).executeTakeFirst());
        if (!row) throw notFound(`Trunk ${params.trunkId}`);
        return { status: 200, body: toTrunk(row) };
      },
    }),
  ];
}

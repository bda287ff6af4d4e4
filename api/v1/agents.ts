/**
 * Agents: saved persona configurations (instructions, greeting, voice, tools) that calls
 * and campaigns refer to by ID.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import { ApiProblem, notFound, problem } from '../problem.js';
import { defineRoute } from '../route.js';
import { agentSettingsSchema, idParam } from '../schemas.js';

const agent = z.object({ id: z.string(), name: z.string(), settings: agentSettingsSchema, createdAt: z.string(), updatedAt: z.string() });
type AgentRow = { id: string; name: string; settings: unknown; created_at: Date; updated_at: Date };
const toAgent = (a: AgentRow) => ({ id: a.id, name: a.name, settings: agentSettingsSchema.parse(a.settings), createdAt: a.created_at.toISOString(), updatedAt: a.updated_at.toISOString() });
const columns = ['id', 'name', 'settings', 'created_at', 'updated_at'] as const;
const agentParams = z.object({ agentId: idParam });

export function agentRoutes() {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/agents',
      operationId: 'createAgent',
      summary: 'Save an agent configuration',
      tag: 'Agents',
      role: 'operator',
      body: z.strictObject({ id: idParam, name: z.string().trim().min(1).max(200), settings: agentSettingsSchema }),
      responses: { 201: { description: 'The agent.', schema: agent }, 409: { description: 'An agent with this ID exists.' } },
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        setResourceId(body.id);
        const row = await tenantDb(async (tx) => {
          const inserted = await tx
            .insertInto('agents')
            .values({ tenant_id: principal.tenantId, id: body.id, name: body.name, settings: JSON.stringify(body.settings) })
            .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
            .returning(columns)
            .executeTakeFirst();
          if (!inserted) throw new ApiProblem(problem('conflict', 409, 'Conflict', `Agent ${body.id} exists.`));
          return inserted;
        });
        return { status: 201, body: toAgent(row), headers: { location: `/v1/agents/${body.id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/agents',
      operationId: 'listAgents',
      summary: 'List agents',
      tag: 'Agents',
      role: 'viewer',
      responses: { 200: { description: 'Every agent of the tenant.', schema: z.object({ items: z.array(agent) }) } },
      handler: async ({ tenantDb }) => ({ status: 200, body: { items: (await tenantDb((tx) => tx.selectFrom('agents').select(columns).orderBy('id').execute())).map(toAgent) } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/agents/:agentId',
      operationId: 'getAgent',
      summary: 'An agent',
      tag: 'Agents',
      role: 'viewer',
      params: agentParams,
      responses: { 200: { description: 'The agent.', schema: agent }, 404: { description: 'No such agent in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const row = await tenantDb((tx) => tx.selectFrom('agents').select(columns).where('id', '=', params.agentId).executeTakeFirst());
        if (!row) throw notFound(`Agent ${params.agentId}`);
        return { status: 200, body: toAgent(row) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/agents/:agentId',
      operationId: 'updateAgent',
      summary: 'Change an agent (calls already started keep the settings they began with)',
      tag: 'Agents',
      role: 'operator',
      params: agentParams,
      body: z.strictObject({ name: z.string().trim().min(1).max(200).optional(), settings: agentSettingsSchema.optional() }),
      responses: { 200: { description: 'The agent.', schema: agent }, 404: { description: 'No such agent in this tenant.' } },
      handler: async ({ params, body, tenantDb }) => {
        const row = await tenantDb((tx) =>
          tx
            .updateTable('agents')
            .set({ ...(body.name && { name: body.name }), ...(body.settings && { settings: JSON.stringify(body.settings) }), updated_at: sql<Date>`now()` })
            .where('id', '=', params.agentId)
            .returning(columns)
            .executeTakeFirst(),
        );
        if (!row) throw notFound(`Agent ${params.agentId}`);
        return { status: 200, body: toAgent(row) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/agents/:agentId',
      operationId: 'deleteAgent',
      summary: 'Delete an agent',
      tag: 'Agents',
      role: 'operator',
      params: agentParams,
      responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such agent in this tenant.' } },
      handler: async ({ params, tenantDb }) => {
        const removed = await tenantDb((tx) => tx.deleteFrom('agents').where('id', '=', params.agentId).executeTakeFirst());
        if (removed.numDeletedRows === 0n) throw notFound(`Agent ${params.agentId}`);
        return { status: 204 };
      },
    }),
  ];
}

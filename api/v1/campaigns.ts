/**
 * Campaigns: create one (a draft), upload its contacts as CSV (streamed, reported row by
 * row), start it, pause, resume or cancel it, read its live statistics. Control goes to
 * the campaign's workflow as Temporal updates, whose validators refuse an invalid
 * transition (409).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { CountryCode } from 'libphonenumber-js';
import { getCountries } from 'libphonenumber-js';
import { sql } from 'kysely';
import { z } from 'zod';
import { contactTally, contactsArrived, dialingStatuses } from '../../activities/campaign-ledger.js';
import { campaignWorkflowId } from '../../workflows/ids.js';
import { cancelCampaignUpdate, contactsAddedSignal, pauseCampaignUpdate, resumeCampaignUpdate } from '../../workflows/campaign/messages.js';
import type { CampaignConfig, CampaignInput } from '../../workflows/campaign/types.js';
import { importContactsCsv } from '../contacts-import.js';
import { ApiProblem, notFound, problem } from '../problem.js';
import { defineRoute } from '../route.js';
import { agentSettingsSchema, analysisSchema, callingWindowSchema, decodeCursor, e164, encodeCursor, idParam, limitsSchema, page, pageQuery, retryPolicySchema, transferSchema } from '../schemas.js';
import type { TenantTx } from '../tenant-db.js';
import type { Logger } from '../../deploy/logger.js';

export interface CampaignRouteDeps {
  temporal: Client;
  taskQueue: string;
  /** The API's logger (Fastify's own is off: requests are logged once, by the API). */
  log: Logger;
}

/** Largest contacts upload, in bytes (about 200k rows of a few columns). */
export const contactsUploadMaxBytes = 50 * 1024 * 1024;

export const campaignConfigSchema = z.strictObject({
  agent: agentSettingsSchema,
  trunkId: idParam,
  callerId: e164.optional(),
  window: callingWindowSchema.optional(),
  callsPerSecond: z.number().min(0.01).max(100),
  maxConcurrentCalls: z.number().int().min(1).max(10_000),
  retry: retryPolicySchema.optional(),
  redialOrder: z
    .enum(['when_due', 'after_first_pass'])
    .optional()
    .meta({ description: 'when_due (default): a redial whose delay has passed takes the next free slot, before contacts not yet dialled. after_first_pass: every contact due now is dialled once before any redial.' }),
  transfer: transferSchema.optional(),
  limits: limitsSchema.optional(),
  analysis: analysisSchema.optional(),
  budgetUsd: z.number().positive().max(10_000_000).optional(),
  estimatedCostPerCallUsd: z.number().positive().max(100).optional(),
  endsAt: z.iso.datetime({ offset: true }).optional(),
}) satisfies z.ZodType<CampaignConfig>;

const campaignParams = z.object({ campaignId: idParam });
const campaign = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  stopReason: z.string().nullable(),
  config: z.unknown(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
const rowIssue = z.object({ row: z.number().int(), field: z.string(), reason: z.string() });
const importReport = z.object({ importId: z.string(), rows: z.number().int(), imported: z.number().int(), duplicates: z.array(rowIssue), invalid: z.array(rowIssue) });
const stats = z.object({
  campaignId: z.string(),
  status: z.string(),
  stopReason: z.string().optional(),
  contacts: z
    .object({
      total: z.number().int(),
      pending: z.number().int(),
      dialling: z.number().int(),
      retryWait: z.number().int(),
      done: z.number().int(),
      cancelled: z.number().int(),
      dispositions: z.record(z.string(), z.number().int()).meta({ description: 'Final dispositions of done contacts.' }),
    })
    .optional(),
  attempts: z.record(z.string(), z.number()),
  dials: z.number().int(),
  inFlight: z.number().int(),
  costUsd: z.number(),
  callsPerSecondAchieved: z.number(),
  callsPerSecondConfigured: z.number(),
  startedAt: z.string(),
  estimatedCompletionAt: z.string().optional(),
});

type CampaignRow = { id: string; name: string; status: string; stop_reason: string | null; config: unknown; created_at: Date; started_at: Date | null; finished_at: Date | null };
const toCampaign = (c: CampaignRow) => ({
  id: c.id,
  name: c.name,
  status: c.status,
  stopReason: c.stop_reason,
  config: c.config,
  createdAt: c.created_at.toISOString(),
  startedAt: c.started_at ? new Date(c.started_at).toISOString() : null,
  finishedAt: c.finished_at ? new Date(c.finished_at).toISOString() : null,
});

async function readCampaign(tx: TenantTx, id: string) {
  const row = await tx.selectFrom('campaigns').select(['id', 'name', 'status', 'stop_reason', 'config', 'created_at', 'started_at', 'finished_at']).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`Campaign ${id}`);
  return row;
}

/** A campaign's calls that have ended, by disposition. */
async function attemptsByDisposition(tx: TenantTx, campaignId: string): Promise<Record<string, number>> {
  const rows = await tx.selectFrom('calls').select(['disposition', sql<number>`count(*)::int`.as('n')]).where('campaign_id', '=', campaignId).where('disposition', 'is not', null).groupBy('disposition').execute();
  return Object.fromEntries(rows.map((r) => [r.disposition!, r.n]));
}

/** Time the campaign spent paused between `from` and `to`, in ms: not dialling time, so not part of its pace's span. */
async function pausedMsBetween(tx: TenantTx, campaignId: string, from: Date, to: Date): Promise<number> {
  const overlap = sql`least(coalesce(ended_at, ${to}), ${to}) - greatest(paused_at, ${from})`;
  const row = await tx
    .selectFrom('campaign_pauses')
    .select(sql<number>`coalesce(sum(extract(epoch from ${overlap}) * 1000) filter (where ${overlap} > interval '0'), 0)::float8`.as('ms'))
    .where('campaign_id', '=', campaignId)
    .executeTakeFirstOrThrow();
  return row.ms;
}

/** Statistics of a finished campaign from its `campaign.completed` event and its calls; undefined if not recorded. */
async function finishedCampaignStats(tx: TenantTx, row: CampaignRow): Promise<z.infer<typeof stats> | undefined> {
  const event = await tx.selectFrom('domain_events').select('payload').where('id', '=', `${row.id}:campaign.completed`).executeTakeFirst();
  if (!event || !row.started_at || !row.finished_at) return undefined;
  const p = (typeof event.payload === 'string' ? JSON.parse(event.payload) : event.payload) as { contacts: z.infer<typeof stats>['contacts']; dials: number; costUsd: number };
  const attempts = await attemptsByDisposition(tx, row.id);
  const pausedMs = await pausedMsBetween(tx, row.id, row.started_at, row.finished_at);
  const elapsedS = Math.max(0.001, (row.finished_at.getTime() - row.started_at.getTime() - pausedMs) / 1000);
  return {
    campaignId: row.id,
    status: row.status,
    ...(row.stop_reason ? { stopReason: row.stop_reason } : {}),
    ...(p.contacts ? { contacts: p.contacts } : {}),
    attempts,
    dials: p.dials,
    inFlight: 0,
    costUsd: p.costUsd,
    callsPerSecondAchieved: p.dials / elapsedS,
    callsPerSecondConfigured: (row.config as { callsPerSecond: number }).callsPerSecond,
    startedAt: row.started_at.toISOString(),
  };
}

/**
 * A running campaign's statistics from what it has recorded in PostgreSQL, not from its
 * workflow's `stats` query. A query that reaches a fresh worker just after the campaign's
 * worker died can make that worker split the campaign's pending task, and the campaign
 * then stops on a nondeterminism error (README, "Known SDK race"); a dashboard polling
 * this endpoint would send that query after every crash. Each call settles its end here
 * as it ends (a campaign run from before that wrote outcomes in batches, about a second
 * behind); the query stays for the Temporal UI and CLI.
 */
async function recordedCampaignStats(tx: TenantTx, row: CampaignRow, nowMs: number): Promise<z.infer<typeof stats>> {
  const contacts = await contactTally(tx, row.id);
  const calls = await tx
    .selectFrom('calls')
    .select([
      sql<number>`count(*)::int`.as('dials'),
      sql<number>`coalesce(sum(cost_usd), 0)::float8`.as('costUsd'),
      sql<Date | null>`min(created_at)`.as('firstAt'),
      sql<Date | null>`max(created_at)`.as('lastAt'),
    ])
    .where('campaign_id', '=', row.id)
    .executeTakeFirstOrThrow();
  const attempts = await attemptsByDisposition(tx, row.id);
  const spanMs = calls.firstAt && calls.lastAt ? calls.lastAt.getTime() - calls.firstAt.getTime() - (await pausedMsBetween(tx, row.id, calls.firstAt, calls.lastAt)) : 0;
  const achieved = spanMs > 0 ? ((calls.dials - 1) * 1000) / spanMs : 0;
  // Every contact still queued needs at least one more attempt; redials are not guessed.
  const left = contacts.pending + contacts.retryWait;
  return {
    campaignId: row.id,
    status: row.status,
    ...(row.stop_reason ? { stopReason: row.stop_reason } : {}),
    contacts,
    attempts,
    dials: calls.dials,
    inFlight: contacts.dialling,
    costUsd: calls.costUsd,
    callsPerSecondAchieved: achieved,
    callsPerSecondConfigured: (row.config as { callsPerSecond: number }).callsPerSecond,
    // Started by the API a moment ago, not yet opened by its workflow.
    startedAt: (row.started_at ?? new Date(nowMs)).toISOString(),
    ...(row.status === 'running' && achieved > 0 ? { estimatedCompletionAt: new Date(nowMs + (left / achieved) * 1000).toISOString() } : {}),
  };
}

const countries = new Set<string>(getCountries());

export function campaignRoutes(deps: CampaignRouteDeps) {
  const handleOf = (tenantId: string, campaignId: string) => deps.temporal.workflow.getHandle(campaignWorkflowId(tenantId, campaignId));

  /** Pause, resume and cancel: the campaign must exist here and be running in Temporal. */
  const control = (name: 'pause' | 'resume' | 'cancel', summary: string) =>
    defineRoute({
      method: 'POST',
      path: `/v1/campaigns/:campaignId/${name}`,
      operationId: `${name}Campaign`,
      summary,
      tag: 'Campaigns',
      role: 'operator',
      params: campaignParams,
      body: (name === 'cancel' ? z.strictObject({ reason: z.string().trim().min(1).max(500) }) : z.strictObject({})),
      responses: {
        200: { description: 'The campaign’s status after the change.', schema: z.object({ id: z.string(), status: z.string() }) },
        404: { description: 'No such campaign in this tenant.' },
        409: { description: 'The campaign is not in a state that allows this (for example paused twice, or never started).' },
      },
      handler: async ({ principal, params, body, tenantDb }) => {
        const row = await tenantDb((tx) => readCampaign(tx, params.campaignId));
        if (row.status === 'draft') throw new ApiProblem(problem('invalid-transition', 409, 'Invalid transition', `Campaign ${row.id} has not been started.`));
        const handle = handleOf(principal.tenantId, params.campaignId);
        try {
          const result =
            name === 'pause'
              ? await handle.executeUpdate(pauseCampaignUpdate)
              : name === 'resume'
                ? await handle.executeUpdate(resumeCampaignUpdate)
                : await handle.executeUpdate(cancelCampaignUpdate, { args: [{ reason: body.reason ?? '' }] });
          return { status: 200, body: { id: row.id, status: result.status } };
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new ApiProblem(problem('invalid-transition', 409, 'Invalid transition', `Campaign ${row.id} is no longer running (${row.status}).`));
          throw err;
        }
      },
    });

  return [
    defineRoute({
      method: 'POST',
      path: '/v1/campaigns',
      operationId: 'createCampaign',
      summary: 'Create a campaign (a draft: upload contacts, then start it)',
      tag: 'Campaigns',
      role: 'operator',
      body: z.strictObject({ name: z.string().trim().min(1).max(200), config: campaignConfigSchema }),
      responses: { 201: { description: 'The draft campaign.', schema: campaign } },
      handler: async ({ principal, body, tenantDb, setResourceId }) => {
        const id = `cmp-${randomBytes(6).toString('hex')}`;
        setResourceId(id);
        const row = await tenantDb(async (tx) => {
          const trunk = await tx.selectFrom('outbound_trunks').select('numbers').where('id', '=', body.config.trunkId).executeTakeFirst();
          if (!trunk) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', `body.config.trunkId: outbound trunk ${body.config.trunkId} does not exist.`));
          if (body.config.callerId && !trunk.numbers.includes(body.config.callerId)) {
            throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', 'body.config.callerId: not one of the trunk’s numbers.'));
          }
          await tx.insertInto('campaigns').values({ id, tenant_id: principal.tenantId, name: body.name, status: 'draft', config: JSON.stringify(body.config) }).execute();
          return readCampaign(tx, id);
        });
        return { status: 201, body: toCampaign(row), headers: { location: `/v1/campaigns/${id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/campaigns',
      operationId: 'listCampaigns',
      summary: 'List campaigns, newest first',
      tag: 'Campaigns',
      role: 'viewer',
      query: z.strictObject({ status: z.string().max(40).optional(), ...pageQuery }),
      responses: { 200: { description: 'A page of campaigns.', schema: page(campaign) } },
      handler: async ({ query, tenantDb }) => {
        const rows = await tenantDb((tx) => {
          let q = tx.selectFrom('campaigns').select(['id', 'name', 'status', 'stop_reason', 'config', 'created_at', 'started_at', 'finished_at']);
          if (query.status) q = q.where('status', '=', query.status);
          if (query.cursor) {
            const { at, id } = decodeCursor(query.cursor);
            q = q.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
          }
          return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit + 1).execute();
        });
        const items = rows.slice(0, query.limit);
        const last = items.at(-1);
        return { status: 200, body: { items: items.map(toCampaign), nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/campaigns/:campaignId',
      operationId: 'getCampaign',
      summary: 'A campaign',
      tag: 'Campaigns',
      role: 'viewer',
      params: campaignParams,
      responses: { 200: { description: 'The campaign.', schema: campaign }, 404: { description: 'No such campaign in this tenant.' } },
      handler: async ({ params, tenantDb }) => ({ status: 200, body: toCampaign(await tenantDb((tx) => readCampaign(tx, params.campaignId))) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/campaigns/:campaignId/contacts',
      operationId: 'importContacts',
      summary: 'Upload contacts as CSV',
      tag: 'Campaigns',
      role: 'operator',
      params: campaignParams,
      query: z.strictObject({
        defaultRegion: z
          .string()
          .refine((c) => countries.has(c), 'expected an ISO 3166 country code, e.g. US')
          .optional()
          .meta({ description: 'Country for numbers written without +.' }),
        defaultTimeZone: z.string().max(64).optional().meta({ description: 'Zone for rows without one when the number does not say.' }),
        consentByDefault: z.enum(['true', 'false']).optional().meta({ description: 'Consent for rows without a consent value. Default false.' }),
      }),
      rawBody: { mediaType: 'text/csv', description: 'A header row with a phone column (phone, phone_number, number or mobile), optional id, time_zone and consent columns; other columns are kept as fields for the agent.', maxBytes: contactsUploadMaxBytes },
      responses: {
        201: { description: 'What was imported, and every refused row with its reason.', schema: importReport },
        404: { description: 'No such campaign in this tenant.' },
        409: { description: 'The campaign is stopping or has finished.' },
        413: { description: 'The upload is too large.' },
      },
      handler: async ({ principal, params, query, body, tenantDb }) => {
        const closed = (id: string, status: string) => new ApiProblem(problem('invalid-transition', 409, 'Invalid transition', `Campaign ${id} is ${status}; it takes no more contacts.`));
        const { report, wakeSeq } = await tenantDb(async (tx) => {
          const row = await readCampaign(tx, params.campaignId);
          if (!dialingStatuses.has(row.status)) throw closed(row.id, row.status);
          const report = await importContactsCsv(
            tx,
            {
              tenantId: principal.tenantId,
              campaignId: params.campaignId,
              ...(query.defaultRegion && { defaultRegion: query.defaultRegion as CountryCode }),
              ...(query.defaultTimeZone && { defaultTimeZone: query.defaultTimeZone }),
              consentByDefault: query.consentByDefault === 'true',
            },
            body as Readable,
          );
          // Checked again under the campaign's lock: it may have ended while the file streamed in.
          const arrived = await contactsArrived(tx, row.id);
          if (!arrived.accepted) throw closed(row.id, arrived.status);
          return { report, wakeSeq: arrived.wakeSeq };
        });
        // A campaign asleep until something falls due dials the new contacts now. The
        // contacts are in either way: without this signal it finds them when it next wakes.
        if (wakeSeq !== undefined) {
          await handleOf(principal.tenantId, params.campaignId)
            .signal(contactsAddedSignal, { wakeSeq })
            .catch((err: unknown) => deps.log.warn({ err, campaignId: params.campaignId }, 'could not wake the campaign for its new contacts'));
        }
        return { status: 201, body: report };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/campaigns/:campaignId/start',
      operationId: 'startCampaign',
      summary: 'Start dialling a draft campaign',
      tag: 'Campaigns',
      role: 'operator',
      params: campaignParams,
      body: z.strictObject({}),
      responses: { 202: { description: 'The campaign is running.', schema: z.object({ id: z.string(), status: z.literal('running') }) }, 404: { description: 'No such campaign in this tenant.' }, 409: { description: 'Already started.' } },
      handler: async ({ principal, params, tenantDb }) => {
        const row = await tenantDb((tx) => readCampaign(tx, params.campaignId));
        const conflict = () => new ApiProblem(problem('invalid-transition', 409, 'Invalid transition', `Campaign ${row.id} was already started (${row.status}).`));
        if (row.status !== 'draft') throw conflict();
        const config = campaignConfigSchema.parse(row.config);
        const input: CampaignInput = { tenantId: principal.tenantId, campaignId: row.id, config };
        try {
          await deps.temporal.workflow.start('campaignWorkflow', { workflowId: campaignWorkflowId(principal.tenantId, row.id), taskQueue: deps.taskQueue, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE' });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict();
          throw err;
        }
        // Running from now on, for every reader: the workflow's first activity says so too,
        // but a pause or stats request may come before it has run.
        await tenantDb((tx) => tx.updateTable('campaigns').set({ status: 'running', updated_at: sql<Date>`now()` }).where('id', '=', row.id).where('status', '=', 'draft').execute());
        return { status: 202, body: { id: row.id, status: 'running' } };
      },
    }),
    control('pause', 'Pause: no new calls; calls in progress finish'),
    control('resume', 'Resume a paused campaign'),
    control('cancel', 'Cancel: queued contacts are cancelled with the reason; calls in progress finish'),
    defineRoute({
      method: 'GET',
      path: '/v1/campaigns/:campaignId/stats',
      operationId: 'getCampaignStats',
      summary: 'Live statistics: contacts per state and disposition, cost, pace, estimated completion (as recorded, about a second behind)',
      tag: 'Campaigns',
      role: 'viewer',
      params: campaignParams,
      responses: { 200: { description: 'The campaign’s statistics.', schema: stats }, 404: { description: 'No such campaign in this tenant.' }, 409: { description: 'Not started yet.' } },
      handler: async ({ params, tenantDb }) => {
        const row = await tenantDb((tx) => readCampaign(tx, params.campaignId));
        if (row.status === 'draft') throw new ApiProblem(problem('invalid-transition', 409, 'Not started', `Campaign ${row.id} has not been started.`));
        // A finished campaign's figures are what it recorded as it finished; a running
        // one's, what it has recorded so far (never a workflow query: see above).
        const body = await tenantDb(async (tx) => (row.finished_at ? await finishedCampaignStats(tx, row) : undefined) ?? (await recordedCampaignStats(tx, row, Date.now())));
        return { status: 200, body };
      },
    }),
  ];
}

/**
 * Calls: start one outbound call, read one or a page of them, hang one up. A call's ID is
 * its workflow's ID, which names the tenant: a call of another tenant is not found.
 */
import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { hangUpUpdate } from '../../workflows/messages.js';
import { callWorkflowId } from '../../workflows/ids.js';
import type { OutboundCallInput } from '../../workflows/call/types.js';
import { getCall, InvalidCursorError, listCalls } from '../call-reads.js';
import { bodyDigest } from '../idempotency.js';
import { ApiProblem, notFound, problem } from '../problem.js';
import { defineRoute } from '../route.js';
import { agentSettingsSchema, analysisSchema, callingWindowSchema, e164, idIsThePhoneNumber, idIsThePhoneNumberReason, idParam, limitsSchema, page, pageQuery, retryPolicySchema, timeZone, transferSchema } from '../schemas.js';
import type { TenantTx } from '../tenant-db.js';
import type { PriceTable } from '../../activities/pricing.js';

export interface CallRouteDeps {
  temporal: Client;
  taskQueue: string;
  prices: PriceTable;
}

const callId = z.string().regex(/^(outbound|inbound)_[A-Za-z0-9_-]{1,200}$/, 'not a call ID');
const callParams = z.object({ callId });

/** Whether a call ID names this tenant's call (IDs read `<direction>_<tenant>_...`). */
const ownsCall = (tenantId: string, id: string) => id.startsWith(`outbound_${tenantId}_`) || id.startsWith(`inbound_${tenantId}_`);

const startCallBody = z
  .strictObject({
    to: e164,
    trunkId: idParam.meta({ description: 'An outbound trunk of the tenant.' }),
    callerId: e164.optional().meta({ description: 'One of the trunk’s numbers; default its first.' }),
    agentId: idParam.optional().meta({ description: 'A saved agent; or give `agent` inline.' }),
    agent: agentSettingsSchema.optional(),
    contact: z.strictObject({
      timeZone: timeZone.meta({ description: 'IANA zone the calling window is read in.' }),
      consent: z.boolean().meta({ description: 'Whether the callee consented to automated calls; without it the call is not placed.' }),
      reference: idParam.optional().meta({ description: 'Your ID for the callee (no PII); names the call. Default a random one.' }),
    }),
    window: callingWindowSchema.optional(),
    limits: limitsSchema.optional(),
    retry: retryPolicySchema.optional(),
    transfer: transferSchema.optional(),
    analysis: analysisSchema.optional(),
  })
  .refine((b) => (b.agentId === undefined) !== (b.agent === undefined), 'give exactly one of agentId and agent')
  .refine((b) => b.contact.reference === undefined || !idIsThePhoneNumber(b.contact.reference, b.to), { path: ['contact', 'reference'], message: idIsThePhoneNumberReason });

const turn = z.object({ seq: z.number().int(), role: z.enum(['user', 'agent']), text: z.string(), interrupted: z.boolean(), at: z.string() });
const callSummary = z.object({
  id: z.string(),
  campaignId: z.string().nullable(),
  direction: z.enum(['outbound', 'inbound']),
  status: z.string(),
  disposition: z.string().nullable(),
  endReason: z.string().nullable(),
  attempt: z.number().int(),
  createdAt: z.string(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
const callDetail = callSummary.extend({
  agentCount: z.number().int(),
  sipStatusCode: z.number().int().nullable(),
  nextAttemptId: z.string().nullable(),
  costUsd: z.number().nullable(),
  turns: z.array(turn),
  analysis: z
    .union([
      z.object({ status: z.literal('ok'), summary: z.string().nullable(), disposition: z.string().nullable(), sentiment: z.string().nullable(), goalMet: z.boolean().nullable(), fields: z.unknown() }),
      z.object({ status: z.literal('failed'), error: z.string().nullable() }),
    ])
    .nullable(),
  usage: z.object({ sttAudioS: z.number(), ttsCharacters: z.number().int(), llmInputTokens: z.number().int(), llmOutputTokens: z.number().int() }),
  costBreakdownUsd: z
    .object({ sttUsd: z.number(), ttsUsd: z.number(), llmUsd: z.number(), telephonyUsd: z.number(), selfHostedUsd: z.number(), totalUsd: z.number() })
    .meta({ description: 'The usage so far priced by the price table in force (the defaults with `KICKCALL_PRICES_FILE` over them), by component; connected time to the hang-up, or to now while live. `costUsd` is the price recorded when the call ended.' }),
  turnMetrics: z
    .array(
      z.object({
        seq: z.number().int(),
        at: z.string(),
        eouDelayMs: z.number().meta({ description: 'From the caller’s last audio to the end-of-turn decision.' }),
        sttMs: z.number().nullable().meta({ description: 'From the caller’s last audio to the final transcript.' }),
        llmTtftMs: z.number().meta({ description: 'LLM time to first token.' }),
        ttsTtfbMs: z.number().meta({ description: 'TTS time to first byte.' }),
        voiceToVoiceMs: z.number().meta({ description: 'From the caller’s last audio to the agent’s first audio.' }),
      }),
    )
    .meta({ description: 'Latency of each agent turn, in ms, from the media worker’s turn metrics.' }),
  answers: z.record(z.string(), z.string()),
  callbacks: z.array(z.string()),
  agentNotes: z
    .array(z.object({ tool: z.enum(['transfer_to_human', 'end_call']), note: z.string() }))
    .meta({ description: 'Why the agent transferred or ended the call, in its own words, in the order given.' }),
});

async function readCall(tx: TenantTx, tenantId: string, id: string, prices: PriceTable) {
  const call = await getCall(tx, tenantId, id, prices);
  if (!call) throw notFound(`Call ${id}`);
  const cost = await tx.selectFrom('calls').select('cost_usd').where('id', '=', id).executeTakeFirstOrThrow();
  return { ...call, costUsd: cost.cost_usd };
}

/** Memo field naming the API request that started a call (a digest: no personal data). */
const requestMemoKey = 'kickcallRequest';

export function callRoutes(deps: CallRouteDeps) {
  /** The request (key and body digest) that started a call, from its memo. */
  const startedBy = async (callId: string): Promise<string | undefined> => {
    const described = await deps.temporal.workflow.getHandle(callId).describe();
    const value = described.memo?.[requestMemoKey];
    return typeof value === 'string' ? value : undefined;
  };

  return [
    defineRoute({
      method: 'POST',
      path: '/v1/calls',
      operationId: 'startCall',
      summary: 'Start an outbound call',
      tag: 'Calls',
      role: 'operator',
      body: startCallBody,
      responses: {
        201: { description: 'The call is scheduled; it dials once its calling window is open and compliance allows.', schema: z.object({ id: z.string(), status: z.literal('scheduled') }) },
        409: { description: 'A call for this contact reference was already started.' },
      },
      handler: async ({ principal, body, tenantDb, setResourceId, request }) => {
        const { tenantId } = principal;
        const { trunk, agent } = await tenantDb(async (tx) => {
          const trunkRow = await tx.selectFrom('outbound_trunks').select(['address', 'numbers']).where('id', '=', body.trunkId).executeTakeFirst();
          if (!trunkRow) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', `body.trunkId: outbound trunk ${body.trunkId} does not exist.`));
          if (body.callerId && !trunkRow.numbers.includes(body.callerId)) {
            throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', 'body.callerId: not one of the trunk’s numbers.'));
          }
          let agentSettings = body.agent;
          if (body.agentId) {
            const row = await tx.selectFrom('agents').select('settings').where('id', '=', body.agentId).executeTakeFirst();
            if (!row) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', `body.agentId: agent ${body.agentId} does not exist.`));
            agentSettings = agentSettingsSchema.parse(row.settings);
          }
          return { trunk: { address: trunkRow.address, numbers: body.callerId ? [body.callerId] : trunkRow.numbers }, agent: agentSettings! };
        });
        // The request's identity: its key and what it asked. Without a reference, a retry of
        // it names the same call, so a request whose answer was lost (Temporal slow to
        // confirm) cannot place a second one; a reused key with another body names another.
        const idemKey = request.headers['idempotency-key'];
        const requestId = typeof idemKey === 'string' ? createHash('sha256').update(`${tenantId}:${idemKey}:${bodyDigest({ body })}`).digest('hex') : undefined;
        const contactId = body.contact.reference ?? (requestId ? `d-${requestId.slice(0, 16)}` : `d-${randomBytes(8).toString('hex')}`);
        const id = callWorkflowId({ tenantId, contactId, attempt: 1 });
        setResourceId(id);
        const input: OutboundCallInput = {
          tenantId,
          contactId,
          attempt: 1,
          callTo: body.to,
          trunk,
          contact: { timeZone: body.contact.timeZone, consent: body.contact.consent },
          agent,
          ...(body.agentId && { agentId: body.agentId }),
          ...(body.window && { window: body.window }),
          ...(body.limits && { limits: body.limits }),
          ...(body.retry && { retry: body.retry }),
          ...(body.transfer && { transfer: body.transfer }),
          ...(body.analysis && { analysis: body.analysis }),
        };
        try {
          await deps.temporal.workflow.start('outboundCallWorkflow', {
            workflowId: id,
            taskQueue: deps.taskQueue,
            args: [input],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            ...(requestId ? { memo: { [requestMemoKey]: requestId } } : {}),
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            // The same request, retried after its first answer was lost: the call it started.
            if (requestId && (await startedBy(id)) === requestId) return { status: 201, body: { id, status: 'scheduled' }, headers: { location: `/v1/calls/${id}` } };
            throw new ApiProblem(problem('conflict', 409, 'Conflict', `A call for contact reference ${contactId} was already started.`));
          }
          throw err;
        }
        return { status: 201, body: { id, status: 'scheduled' }, headers: { location: `/v1/calls/${id}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/calls',
      operationId: 'listCalls',
      summary: 'List calls, newest first',
      tag: 'Calls',
      role: 'viewer',
      query: z.strictObject({ campaignId: idParam.optional(), status: z.string().max(40).optional(), disposition: z.string().max(40).optional(), ...pageQuery }),
      responses: { 200: { description: 'A page of calls.', schema: page(callSummary) } },
      handler: async ({ principal, query, tenantDb }) => {
        try {
          return { status: 200, body: await tenantDb((tx) => listCalls(tx, principal.tenantId, query)) };
        } catch (err) {
          if (err instanceof InvalidCursorError) throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', `query.cursor: ${err.message}`));
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/calls/:callId',
      operationId: 'getCall',
      summary: 'A call with its transcript, analysis, usage and cost',
      tag: 'Calls',
      role: 'viewer',
      params: callParams,
      responses: { 200: { description: 'The call.', schema: callDetail }, 404: { description: 'No such call in this tenant.' } },
      handler: async ({ principal, params, tenantDb }) => ({ status: 200, body: await tenantDb((tx) => readCall(tx, principal.tenantId, params.callId, deps.prices)) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/calls/:callId/transcript',
      operationId: 'getCallTranscript',
      summary: 'A call’s turns in order',
      tag: 'Calls',
      role: 'viewer',
      params: callParams,
      responses: { 200: { description: 'The turns so far.', schema: z.object({ callId: z.string(), turns: z.array(turn) }) }, 404: { description: 'No such call in this tenant.' } },
      handler: async ({ principal, params, tenantDb }) => {
        const call = await tenantDb((tx) => readCall(tx, principal.tenantId, params.callId, deps.prices));
        return { status: 200, body: { callId: call.id, turns: call.turns } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/calls/:callId/hangup',
      operationId: 'hangUpCall',
      summary: 'End a live call now',
      tag: 'Calls',
      role: 'operator',
      params: callParams,
      body: z.strictObject({ reason: z.string().min(1).max(200).default('api') }),
      responses: { 202: { description: 'The call is ending.', schema: z.object({ id: z.string(), accepted: z.literal(true) }) }, 404: { description: 'No such call in this tenant.' }, 409: { description: 'The call has already ended.' } },
      handler: async ({ principal, params, body }) => {
        if (!ownsCall(principal.tenantId, params.callId)) throw notFound(`Call ${params.callId}`);
        const handle = deps.temporal.workflow.getHandle(params.callId);
        try {
          const described = await handle.describe();
          if (described.status.name !== 'RUNNING') throw new ApiProblem(problem('invalid-transition', 409, 'Call already ended', `Call ${params.callId} has ended.`));
          await handle.executeUpdate(hangUpUpdate, { args: [{ reason: body.reason }] });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw notFound(`Call ${params.callId}`);
          throw err;
        }
        return { status: 202, body: { id: params.callId, accepted: true } };
      },
    }),
  ];
}

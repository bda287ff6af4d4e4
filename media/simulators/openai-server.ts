/**
 * The OpenAI-compatible simulator: `GET /v1/models`, `POST /v1/chat/completions`
 * (streaming SSE and plain JSON, text and tool calls, usage), `/health` and `/_sim/*`.
 * Replies come from the scenario rule table (scenario-rules.ts); pacing from the
 * settings: time to first token, then tokens at a steady rate.
 *
 * Token counting is an approximation: one streamed piece (a word with its leading space,
 * or eight characters of tool arguments) counts as one completion token; prompt tokens
 * are estimated at four characters each, as OpenAI's rule of thumb has it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { delay, HttpError, readJson, sendJson } from './http.js';
import { decide, defaultScenarioId, scenarios, type Decision } from './scenario-rules.js';
import { closeServer, createSimServer, listen, type RunningSimulator } from './server-base.js';
import { faultStatus, SimControl, type Fault, type FaultKind } from './sim-control.js';
import { fillSchema, readConversation } from './structured-output.js';

export const openaiSettingsSchema = z
  .object({
    /** Time to first token (ms). */
    ttftMs: z.number().int().min(0),
    /** Completion tokens per second after the first; 0 sends them all at once. */
    tokensPerSecond: z.number().min(0),
    /** Scenario used when a request names none in `metadata.scenario`. */
    scenario: z.string().refine((s) => s in scenarios, 'unknown scenario'),
  })
  .strict();
export type OpenAISettings = z.infer<typeof openaiSettingsSchema>;

/** Start-up defaults, near a GPT-4-class model over the public API. */
export const defaultOpenAISettings: OpenAISettings = { ttftMs: 300, tokensPerSecond: 60, scenario: defaultScenarioId };

export const openaiStatKeys = ['httpRequests', 'chatCompletions', 'toolCalls', 'promptTokens', 'completionTokens'] as const;

export const simulatedModels = ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4o', 'gpt-4o-mini'];

export interface OpenAISimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  settings?: Partial<OpenAISettings>;
}

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]).optional(),
  tool_calls: z
    .array(z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
    .optional(),
  tool_call_id: z.string().optional(),
});

const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })).optional(),
  tool_choice: z
    .union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.literal('function'), function: z.object({ name: z.string() }) })])
    .optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  response_format: z
    .union([
      z.looseObject({ type: z.literal('json_schema'), json_schema: z.looseObject({ name: z.string(), schema: z.record(z.string(), z.unknown()) }) }),
      z.looseObject({ type: z.enum(['text', 'json_object']) }),
    ])
    .optional(),
});
type ChatRequest = z.infer<typeof chatRequestSchema>;

function openaiError(status: number, message: string) {
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : null;
  return { error: { message, type, param: null, code } };
}

const HTTP_FAULTS: readonly FaultKind[] = ['http_429', 'http_500', 'http_503'];

/** Pieces the reply streams in: words with their leading space, arguments in 8-char slices. */
function textPieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}
function argumentPieces(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 8) out.push(args.slice(i, i + 8));
  return out;
}

function estimatePromptTokens(req: ChatRequest): number {
  const chars = JSON.stringify(req.messages).length + (req.tools ? JSON.stringify(req.tools).length : 0);
  return Math.ceil(chars / 4);
}

export async function startOpenAISimulator(opts: OpenAISimulatorOptions): Promise<RunningSimulator<OpenAISettings>> {
  const { logger } = opts;
  const control = new SimControl<OpenAISettings>({
    settings: { ...defaultOpenAISettings, ...opts.settings },
    settingsSchema: openaiSettingsSchema.partial(),
    statKeys: openaiStatKeys,
  });

  const server = createSimServer({
    logger,
    control,
    errorBody: openaiError,
    route: async (req, res, url) => {
      const path = url.pathname.replace(/\/+$/, '');
      if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
        throw new HttpError(401, 'You did not provide an API key. Send it as a Bearer token in the Authorization header.');
      }
      if (req.method === 'GET' && path === '/v1/models') return listModels(res, control);
      const model = path.match(/^\/v1\/models\/(.+)$/);
      if (req.method === 'GET' && model) return getModel(res, control, decodeURIComponent(model[1]!));
      if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletions(req, res, control, logger);
      throw new HttpError(404, `Invalid URL (${req.method ?? ''} ${url.pathname})`);
    },
  });

  const port = await listen(server, opts.host, opts.port);
  logger.info({ host: opts.host, port }, 'openai simulator listening');
  return { url: `http://${opts.host}:${port}/v1`, port, control, close: () => closeServer(server) };
}

function modelObject(id: string) {
  return { id, object: 'model', created: 1_700_000_000, owned_by: 'kickcall-simulator' };
}

function applyHttpFault(control: SimControl<OpenAISettings>, target: string, kinds: readonly FaultKind[]): Fault | undefined {
  const fault = control.takeFault(target, kinds);
  const status = fault && faultStatus(fault);
  if (status) {
    const message = status.status === 429 ? 'Rate limit reached for requests (simulated).' : 'The server had an error while processing your request (simulated).';
    throw new HttpError(status.status, message, { ...status.headers, ...(status.status === 429 ? { 'x-ratelimit-remaining-requests': '0' } : {}) });
  }
  return fault;
}

function listModels(res: ServerResponse, control: SimControl<OpenAISettings>): void {
  applyHttpFault(control, 'models', HTTP_FAULTS);
  sendJson(res, 200, { object: 'list', data: simulatedModels.map(modelObject) });
}

function getModel(res: ServerResponse, control: SimControl<OpenAISettings>, id: string): void {
  applyHttpFault(control, 'models', HTTP_FAULTS);
  if (!simulatedModels.includes(id)) throw new HttpError(404, `The model '${id}' does not exist`);
  sendJson(res, 200, modelObject(id));
}

async function chatCompletions(
  req: IncomingMessage,
  res: ServerResponse,
  control: SimControl<OpenAISettings>,
  logger: Logger,
): Promise<void> {
  const parsed = chatRequestSchema.safeParse(await readJson(req));
  if (!parsed.success) throw new HttpError(400, z.prettifyError(parsed.error));
  const body = parsed.data;
  if (body.response_format?.type === 'json_schema' && 'json_schema' in body.response_format) {
    return structuredCompletion(res, control, body, body.response_format.json_schema.schema, logger);
  }
  const fault = applyHttpFault(control, 'chat', [...HTTP_FAULTS, 'ws_drop', 'slow_first_token']);
  const settings = control.settings;
  const scenarioId = body.metadata?.scenario ?? settings.scenario;
  const scenario = scenarios[scenarioId];
  if (!scenario) throw new HttpError(400, `unknown scenario ${scenarioId}`);

  const toolNames = body.tool_choice === 'none' ? [] : (body.tools ?? []).map((t) => t.function.name);
  const decision = forcedTool(body, decide({ messages: body.messages, tools: toolNames, scenario }));
  const id = `chatcmpl-${randomBytes(12).toString('base64url')}`;
  const created = Math.floor(Date.now() / 1000);
  const toolCall = decision.kind === 'tool' ? { id: `call_${randomBytes(12).toString('base64url')}`, name: decision.name, arguments: JSON.stringify(decision.args) } : undefined;
  const pieces = toolCall ? argumentPieces(toolCall.arguments) : textPieces(decision.kind === 'text' ? decision.text : '');
  const usage = {
    prompt_tokens: estimatePromptTokens(body),
    completion_tokens: pieces.length,
    total_tokens: estimatePromptTokens(body) + pieces.length,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  control.count('chatCompletions');
  control.count('promptTokens', usage.prompt_tokens);
  if (toolCall) control.count('toolCalls');
  logger.info({ rule: decision.rule, scenario: scenario.id, stream: body.stream === true, tool: toolCall?.name }, 'chat completion');

  const ttftMs = settings.ttftMs + (fault?.kind === 'slow_first_token' ? fault.delayMs : 0);
  const intervalMs = settings.tokensPerSecond > 0 ? 1000 / settings.tokensPerSecond : 0;
  const finishReason = toolCall ? 'tool_calls' : 'stop';
  const aborted = new AbortController();
  res.on('close', () => aborted.abort());

  if (body.stream !== true) {
    await delay(ttftMs + intervalMs * Math.max(0, pieces.length - 1), aborted.signal);
    control.count('completionTokens', pieces.length);
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: body.model,
      system_fingerprint: 'fp_kickcall_sim',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: decision.kind === 'text' ? decision.text : null,
            refusal: null,
            ...(toolCall ? { tool_calls: [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }] } : {}),
          },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
    });
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      system_fingerprint: 'fp_kickcall_sim',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    })}\n\n`;
  const write = (s: string) => !res.destroyed && res.write(s);

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': id });
  if (fault?.kind === 'ws_drop') setTimeout(() => res.destroy(), fault.dropAfterMs).unref();
  await delay(ttftMs, aborted.signal);
  // The role arrives with the first piece, as OpenAI sends it.
  const started = Date.now();
  for (let i = 0; i < pieces.length && !aborted.signal.aborted; i++) {
    const piece = pieces[i]!;
    let delta: object;
    if (toolCall) {
      const fn = i === 0 ? { name: toolCall.name, arguments: piece } : { arguments: piece };
      const call = i === 0 ? { index: 0, id: toolCall.id, type: 'function', function: fn } : { index: 0, function: fn };
      delta = i === 0 ? { role: 'assistant', content: null, tool_calls: [call] } : { tool_calls: [call] };
    } else {
      delta = i === 0 ? { role: 'assistant', content: piece, refusal: null } : { content: piece };
    }
    write(chunk(delta, null));
    control.count('completionTokens');
    await delay(started + (i + 1) * intervalMs - Date.now(), aborted.signal);
  }
  if (aborted.signal.aborted) return;
  write(chunk({}, finishReason));
  if (includeUsage) {
    write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: 'fp_kickcall_sim', choices: [], usage })}\n\n`);
  }
  write('data: [DONE]\n\n');
  res.end();
}

/** Honours `tool_choice: {function: {name}}` and `"required"` when the rules chose to talk. */
/**
 * A non-streaming completion whose content is JSON valid against the requested schema,
 * read from the conversation; the `invalid_output` fault returns broken JSON instead.
 */
async function structuredCompletion(res: ServerResponse, control: SimControl<OpenAISettings>, body: ChatRequest, schema: Record<string, unknown>, logger: Logger): Promise<void> {
  const fault = applyHttpFault(control, 'chat', [...HTTP_FAULTS, 'slow_first_token', 'invalid_output']);
  const reading = readConversation(body.messages);
  const content = fault?.kind === 'invalid_output' ? '{"summary": "The caller' : JSON.stringify(fillSchema(schema, reading));
  await delay(control.settings.ttftMs + (fault?.kind === 'slow_first_token' ? fault.delayMs : 0));
  const completionTokens = Math.ceil(content.length / 4);
  control.count('chatCompletions');
  control.count('structuredCompletions');
  control.count('completionTokens', completionTokens);
  logger.info({ outcome: reading.outcome, invalid: fault?.kind === 'invalid_output' }, 'structured completion');
  sendJson(res, 200, {
    id: `chatcmpl-${randomBytes(12).toString('base64url')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    system_fingerprint: 'fp_kickcall_sim',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: estimatePromptTokens(body), completion_tokens: completionTokens, total_tokens: estimatePromptTokens(body) + completionTokens },
  });
}

function forcedTool(body: ChatRequest, decision: Decision): Decision {
  const choice = body.tool_choice;
  const offered = (body.tools ?? []).map((t) => t.function.name);
  if (choice && typeof choice === 'object') {
    if (decision.kind === 'tool' && decision.name === choice.function.name) return decision;
    return { kind: 'tool', name: choice.function.name, args: {}, rule: 'forced_tool' };
  }
  if (choice === 'required' && decision.kind === 'text' && offered[0]) {
    return { kind: 'tool', name: offered[0], args: {}, rule: 'required_tool' };
  }
  return decision;
}

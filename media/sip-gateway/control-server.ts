/**
 * The gateway's HTTP control API (node:http, JSON). Errors are RFC 9457 problem
 * documents (`application/problem+json`) whose `type` names the error class, so the
 * client can rebuild the typed error.
 *
 *   POST   /v1/sip/participants          dial (CreateSIPParticipant with an inline trunk)
 *   POST   /v1/sip/transfer              cold transfer by REFER, outbound or inbound call
 *   POST   /v1/sip/inbound-trunks        create or replace an inbound trunk by trunkId → the trunk
 *   GET    /v1/sip/inbound-trunks        → { items: [trunk...] }
 *   DELETE /v1/sip/inbound-trunks/:id    → 204
 *   POST   /v1/sip/dispatch-rules        create or replace a dispatch rule by ruleId → the rule
 *   GET    /v1/sip/dispatch-rules        → { items: [rule...] }
 *   DELETE /v1/sip/dispatch-rules/:id    → 204
 *   GET    /health                       200 "ok" once SIP and RTP sockets are ready
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  InboundRouteNotFoundError,
  InvalidRequestError,
  SipCallError,
  SipCallNotActiveError,
  SipGatewayInternalError,
  SipNoAnswerError,
  SipTransferError,
  isGatewayError,
  problemOf,
  type GatewayError,
} from './errors.js';
import type { SipGateway } from './gateway.js';
import {
  createSipParticipantRequestSchema,
  dispatchRuleSchema,
  inboundTrunkSchema,
  transferSipParticipantRequestSchema,
  type Problem,
} from './schemas.js';

/** Request bodies are small JSON; anything bigger is a mistake or an attack. */
const MAX_BODY_BYTES = 128 * 1024;

export interface ControlServerOptions {
  gateway: SipGateway;
  host: string;
  port: number;
  logger: Logger;
}

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const server = http.createServer((req, res) => void handle(opts, req, res));
  // A dial with waitUntilAnswered can take as long as the ringing timeout (≤ 5 min).
  server.requestTimeout = 6 * 60_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(opts: ControlServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  try {
    if (req.method === 'GET' && path === '/health') {
      if (opts.gateway.isDraining) return sendText(res, 503, 'draining');
      return sendText(res, 200, 'ok');
    }
    if (req.method === 'POST' && path === '/v1/sip/participants') {
      const body = parseBody(createSipParticipantRequestSchema, await readJson(req));
      return sendJson(res, 200, await opts.gateway.createSipParticipant(body));
    }
    if (req.method === 'POST' && path === '/v1/sip/transfer') {
      const body = parseBody(transferSipParticipantRequestSchema, await readJson(req));
      await opts.gateway.transferSipParticipant(body);
      return sendJson(res, 200, { roomName: body.roomName, participantIdentity: body.participantIdentity });
    }
    const routes = opts.gateway.routes;
    if (path === '/v1/sip/inbound-trunks') {
      if (req.method === 'GET') return sendJson(res, 200, { items: routes.listTrunks() });
      if (req.method === 'POST') {
        const trunk = parseBody(inboundTrunkSchema, await readJson(req));
        routes.upsertTrunk(trunk);
        opts.logger.info({ trunkId: trunk.trunkId, numbers: trunk.numbers.length }, 'inbound trunk saved');
        return sendJson(res, 200, trunk);
      }
    }
    if (path === '/v1/sip/dispatch-rules') {
      if (req.method === 'GET') return sendJson(res, 200, { items: routes.listRules() });
      if (req.method === 'POST') {
        const rule = parseBody(dispatchRuleSchema, await readJson(req));
        routes.upsertRule(rule);
        opts.logger.info({ ruleId: rule.ruleId, trunkIds: rule.trunkIds }, 'dispatch rule saved');
        return sendJson(res, 200, rule);
      }
    }
    const entry = /^\/v1\/sip\/(inbound-trunks|dispatch-rules)\/([A-Za-z0-9_-]{1,64})$/.exec(path ?? '');
    if (entry?.[2] && req.method === 'DELETE') {
      const isTrunk = entry[1] === 'inbound-trunks';
      if (!(isTrunk ? routes.deleteTrunk(entry[2]) : routes.deleteRule(entry[2]))) {
        throw new InboundRouteNotFoundError(isTrunk ? 'inbound-trunk' : 'dispatch-rule');
      }
      opts.logger.info({ [isTrunk ? 'trunkId' : 'ruleId']: entry[2] }, isTrunk ? 'inbound trunk deleted' : 'dispatch rule deleted');
      res.writeHead(204).end();
      return;
    }
    return sendProblem(res, { type: 'about:blank', title: 'Not Found', status: 404 });
  } catch (err) {
    const error = isGatewayError(err) ? err : new SipGatewayInternalError(undefined, { cause: err });
    if (error instanceof SipGatewayInternalError) opts.logger.error({ err }, 'control request failed');
    return sendProblem(res, toProblem(error));
  }
}

/** Maps an error to its problem document; the client's `fromProblem` is the inverse. */
export function toProblem(error: GatewayError): Problem {
  const { type, status } = problemOf(error);
  const problem: Problem = { type, title: error.name, status, detail: error.message };
  if (error instanceof SipCallError) {
    problem.sipStatusCode = error.sipStatusCode;
    problem.sipStatus = error.sipStatus;
  } else if (error instanceof SipTransferError) {
    if (error.sipStatusCode !== undefined) problem.sipStatusCode = error.sipStatusCode;
    if (error.sipStatus !== undefined) problem.sipStatus = error.sipStatus;
  } else if (error instanceof SipNoAnswerError) {
    problem.ringingTimeoutMs = error.ringingTimeoutMs;
  } else if (error instanceof SipCallNotActiveError) {
    problem.callStatus = error.callStatus;
  } else if (error instanceof InvalidRequestError) {
    problem.issues = [...error.issues];
  }
  return problem;
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // Issue messages name fields, never echo values (which may be phone numbers).
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new InvalidRequestError('The request body is invalid', issues);
  }
  return parsed.data;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new InvalidRequestError('The request body is too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new InvalidRequestError('The request body is not JSON', [], { cause: err });
  }
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendProblem(res: http.ServerResponse, problem: Problem): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(problem.status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
}

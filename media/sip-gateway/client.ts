/**
 * Typed client for the SIP gateway's control API, for Temporal activities. Problem
 * documents come back as the gateway's own error classes, so an activity can map them to
 * ApplicationFailure types (and know which are retryable) without parsing HTTP.
 */
import { Agent, fetch, type Response } from 'undici';
import {
  DialOutcomeUnknownError,
  GatewayDrainingError,
  GatewayUnreachableError,
  IdempotencyConflictError,
  InboundRouteConflictError,
  InboundRouteNotFoundError,
  InvalidRequestError,
  LiveKitUnavailableError,
  SipCallError,
  SipCallNotActiveError,
  SipGatewayInternalError,
  SipNoAnswerError,
  SipParticipantNotFoundError,
  SipTransferError,
  problemTypes,
  type GatewayError,
} from './errors.js';
import {
  createSipParticipantResponseSchema,
  dispatchRuleListSchema,
  dispatchRuleSchema,
  inboundTrunkListSchema,
  inboundTrunkSchema,
  problemSchema,
  transferSipParticipantResponseSchema,
  type CreateSipParticipantRequest,
  type CreateSipParticipantResponse,
  type DispatchRule,
  type DispatchRuleRequest,
  type InboundTrunk,
  type InboundTrunkRequest,
  type Problem,
  type TransferSipParticipantRequest,
  type TransferSipParticipantResponse,
} from './schemas.js';
import { TRANSFER_TIMEOUT_MS } from './sip-call.js';

export interface SipGatewayClientOptions {
  /** Control API base URL, e.g. config.sip.controlUrl. */
  baseUrl: string;
  /** Timeout for requests that do not wait on a phone; default 15000. */
  requestTimeoutMs?: number;
}

/** Extra time on top of the ringing timeout for room join and signalling. */
const DIAL_MARGIN_MS = 30_000;

/**
 * Dials and transfers each go out on a connection of their own. On a kept-alive one, a
 * request can meet the gateway closing that idle connection: it fails as "other side
 * closed", which cannot be told from a gateway that took the request and died, so the dial
 * would count as an attempt of unknown outcome without having reached the gateway. A new
 * connection costs one round trip, next to a phone call's seconds.
 */
const oneRequestPerConnection = new Agent({ pipelining: 0 });

export class SipGatewayClient {
  private readonly baseUrl: string;
  private readonly requestTimeoutMs: number;

  constructor(opts: SipGatewayClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
  }

  /**
   * Dials. A running gateway never dials twice for the same roomName + participantIdentity.
   * Throws SipCallError, SipNoAnswerError; GatewayUnreachableError only when the request
   * cannot have reached the gateway (safe to retry), DialOutcomeUnknownError when it may have.
   */
  async createSipParticipant(request: CreateSipParticipantRequest): Promise<CreateSipParticipantResponse> {
    const timeoutMs = request.waitUntilAnswered ? request.ringingTimeoutMs + DIAL_MARGIN_MS : this.requestTimeoutMs;
    try {
      const body = await this.send('POST', '/v1/sip/participants', request, timeoutMs, oneRequestPerConnection);
      return createSipParticipantResponseSchema.parse(body);
    } catch (err) {
      if ((err instanceof GatewayUnreachableError && !nothingSent(err)) || err instanceof SipGatewayInternalError) throw new DialOutcomeUnknownError({ cause: err });
      throw err;
    }
  }

  /** Cold transfer; resolves once the far end confirmed it and the call was hung up. */
  async transferSipParticipant(request: TransferSipParticipantRequest): Promise<TransferSipParticipantResponse> {
    const body = await this.send('POST', '/v1/sip/transfer', request, TRANSFER_TIMEOUT_MS + DIAL_MARGIN_MS, oneRequestPerConnection);
    return transferSipParticipantResponseSchema.parse(body);
  }

  /** Creates or replaces an inbound trunk (by trunkId); InboundRouteConflictError if it makes routing ambiguous. */
  async upsertInboundTrunk(trunk: InboundTrunkRequest): Promise<InboundTrunk> {
    return inboundTrunkSchema.parse(await this.send('POST', '/v1/sip/inbound-trunks', trunk, this.requestTimeoutMs));
  }

  async listInboundTrunks(): Promise<InboundTrunk[]> {
    return inboundTrunkListSchema.parse(await this.send('GET', '/v1/sip/inbound-trunks', undefined, this.requestTimeoutMs)).items;
  }

  /** InboundRouteNotFoundError when no trunk has this ID. */
  async deleteInboundTrunk(trunkId: string): Promise<void> {
    await this.send('DELETE', `/v1/sip/inbound-trunks/${encodeURIComponent(trunkId)}`, undefined, this.requestTimeoutMs);
  }

  /** Creates or replaces a dispatch rule (by ruleId); InboundRouteConflictError if another rule takes one of its trunks. */
  async upsertDispatchRule(rule: DispatchRuleRequest): Promise<DispatchRule> {
    return dispatchRuleSchema.parse(await this.send('POST', '/v1/sip/dispatch-rules', rule, this.requestTimeoutMs));
  }

  async listDispatchRules(): Promise<DispatchRule[]> {
    return dispatchRuleListSchema.parse(await this.send('GET', '/v1/sip/dispatch-rules', undefined, this.requestTimeoutMs)).items;
  }

  /** InboundRouteNotFoundError when no rule has this ID. */
  async deleteDispatchRule(ruleId: string): Promise<void> {
    await this.send('DELETE', `/v1/sip/dispatch-rules/${encodeURIComponent(ruleId)}`, undefined, this.requestTimeoutMs);
  }

  /** True when the gateway answers its health check. */
  async isHealthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(this.requestTimeoutMs) });
      return res.ok && (await res.text()).trim() === 'ok';
    } catch {
      return false;
    }
  }

  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, timeoutMs: number, dispatcher?: Agent): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        ...(dispatcher ? { dispatcher } : {}),
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new GatewayUnreachableError({ cause: err });
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch (err) {
      throw new SipGatewayInternalError(`Control API answered ${res.status} with a body that is not JSON`, { cause: err });
    }
    if (res.ok) return parsed;
    const problem = problemSchema.safeParse(parsed);
    if (!problem.success) throw new SipGatewayInternalError(`Control API answered ${res.status} without a problem document`);
    throw fromProblem(problem.data);
  }
}

/** Errors raised before a connection existed: the request cannot have been sent. */
const connectErrorCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function nothingSent(err: GatewayUnreachableError): boolean {
  for (let e: unknown = err.cause; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && connectErrorCodes.has(code)) return true;
  }
  return false;
}

/** Rebuilds the typed error a problem document stands for. */
export function fromProblem(p: Problem): GatewayError {
  switch (p.type) {
    case problemTypes.sipCallFailed:
      return new SipCallError(p.sipStatusCode ?? 0, p.sipStatus ?? '');
    case problemTypes.noAnswer:
      return new SipNoAnswerError(p.ringingTimeoutMs ?? 0);
    case problemTypes.transferFailed:
      return new SipTransferError(p.detail ?? p.title, p.sipStatusCode, p.sipStatus);
    case problemTypes.participantNotFound:
      return new SipParticipantNotFoundError();
    case problemTypes.callNotActive:
      return new SipCallNotActiveError(p.callStatus ?? 'unknown');
    case problemTypes.idempotencyConflict:
      return new IdempotencyConflictError();
    case problemTypes.validation:
      return new InvalidRequestError(p.detail ?? p.title, p.issues ?? []);
    case problemTypes.draining:
      return new GatewayDrainingError();
    case problemTypes.livekitUnavailable:
      return new LiveKitUnavailableError();
    case problemTypes.routeNotFound:
      return new InboundRouteNotFoundError(p.detail === 'No dispatch rule has this ID' ? 'dispatch-rule' : 'inbound-trunk');
    case problemTypes.routeConflict:
      return new InboundRouteConflictError(p.detail ?? p.title);
    default:
      return new SipGatewayInternalError(p.detail ?? p.title);
  }
}

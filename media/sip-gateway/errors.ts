/**
 * The SIP gateway's error taxonomy, shared by the gateway (which raises these errors), the
 * control server (which turns them into problem documents) and the client (which turns
 * problem documents back into these errors). Every class has a stable `name`, an optional
 * `cause` and says whether retrying the same request can help.
 *
 * Messages never carry a phone number: details live in typed fields.
 */
import { FailureType, KickcallError, SipCallError, SipNoAnswerError } from '../../workflows/errors.js';

export { SipCallError, SipNoAnswerError };

/** Problem `type` URIs of the control API, one per error class. */
export const problemTypes = {
  validation: 'urn:kickcall:sip-gateway:invalid-request',
  sipCallFailed: 'urn:kickcall:sip-gateway:sip-call-failed',
  noAnswer: 'urn:kickcall:sip-gateway:no-answer',
  transferFailed: 'urn:kickcall:sip-gateway:transfer-failed',
  participantNotFound: 'urn:kickcall:sip-gateway:participant-not-found',
  callNotActive: 'urn:kickcall:sip-gateway:call-not-active',
  idempotencyConflict: 'urn:kickcall:sip-gateway:idempotency-conflict',
  draining: 'urn:kickcall:sip-gateway:draining',
  livekitUnavailable: 'urn:kickcall:sip-gateway:livekit-unavailable',
  routeNotFound: 'urn:kickcall:sip-gateway:route-not-found',
  routeConflict: 'urn:kickcall:sip-gateway:route-conflict',
  internal: 'urn:kickcall:sip-gateway:internal',
} as const;
export type ProblemType = (typeof problemTypes)[keyof typeof problemTypes];

interface ErrorOptions {
  cause?: unknown;
}

/**
 * Errors of the gateway's own making. They are Kickcall errors (a failure type, a
 * `retryable` flag, a cause) that also know how the control API reports them.
 */
export abstract class SipGatewayError extends KickcallError {
  /** The problem `type` the control API uses for this error. */
  abstract readonly problemType: ProblemType;
  /** The HTTP status the control API answers with. */
  abstract readonly httpStatus: number;
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * Everything the gateway raises or reports. A failed INVITE is Kickcall's `SipCallError`
 * (its final status, 408 when the far end never answered the transaction and 503 for a
 * transport failure, as RFC 3261 §8.1.3.1 says) and a ring timeout is `SipNoAnswerError`:
 * the same classes the workflows decide on, so nothing translates between them.
 */
export type GatewayError = SipGatewayError | SipCallError | SipNoAnswerError;

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof SipGatewayError || err instanceof SipCallError || err instanceof SipNoAnswerError;
}

/** The control API's problem `type` and HTTP status for an error. */
export function problemOf(err: GatewayError): { type: ProblemType; status: number } {
  if (err instanceof SipCallError) return { type: problemTypes.sipCallFailed, status: 502 };
  if (err instanceof SipNoAnswerError) return { type: problemTypes.noAnswer, status: 504 };
  return { type: err.problemType, status: err.httpStatus };
}

/** A REFER was rejected, or its NOTIFY reported a non-2xx final status, or it timed out. */
export class SipTransferError extends SipGatewayError {
  override readonly name = 'SipTransferError';
  readonly failureType = FailureType.TransferFailed;
  readonly retryable = false;
  readonly problemType = problemTypes.transferFailed;
  readonly httpStatus = 502;
  constructor(
    message: string,
    /** SIP status of the REFER response or of the NOTIFY sipfrag; absent on timeout. */
    readonly sipStatusCode?: number,
    readonly sipStatus?: string,
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** No call is known for this room and participant identity. */
export class SipParticipantNotFoundError extends SipGatewayError {
  override readonly name = 'SipParticipantNotFoundError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.participantNotFound;
  readonly httpStatus = 404;
  constructor(options: ErrorOptions = {}) {
    super('No SIP call for this room and participant identity', options);
  }
}

/** The call exists but is not in a state that allows the operation (e.g. transfer before answer). */
export class SipCallNotActiveError extends SipGatewayError {
  override readonly name = 'SipCallNotActiveError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.callNotActive;
  readonly httpStatus = 409;
  constructor(
    readonly callStatus: string,
    options: ErrorOptions = {},
  ) {
    super(`The SIP call is ${callStatus}, not active`, options);
  }
}

/** A request reused a participant identity and room for a different call. */
export class IdempotencyConflictError extends SipGatewayError {
  override readonly name = 'IdempotencyConflictError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.idempotencyConflict;
  readonly httpStatus = 409;
  constructor(options: ErrorOptions = {}) {
    super('A different call already uses this room and participant identity', options);
  }
}

/** No inbound trunk or dispatch rule has this ID. */
export class InboundRouteNotFoundError extends SipGatewayError {
  override readonly name = 'InboundRouteNotFoundError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.routeNotFound;
  readonly httpStatus = 404;
  constructor(
    readonly kind: 'inbound-trunk' | 'dispatch-rule',
    options: ErrorOptions = {},
  ) {
    super(kind === 'inbound-trunk' ? 'No inbound trunk has this ID' : 'No dispatch rule has this ID', options);
  }
}

/**
 * An inbound trunk or dispatch rule would make routing ambiguous: two unrestricted trunks
 * owning one number, or two rules for one trunk. The message names the other entry's ID.
 */
export class InboundRouteConflictError extends SipGatewayError {
  override readonly name = 'InboundRouteConflictError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.routeConflict;
  readonly httpStatus = 409;
}

/** The request body failed validation. */
export class InvalidRequestError extends SipGatewayError {
  override readonly name = 'InvalidRequestError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  readonly problemType = problemTypes.validation;
  readonly httpStatus = 400;
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options: ErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** The gateway is shutting down and takes no new calls; another instance (or a retry later) can. */
export class GatewayDrainingError extends SipGatewayError {
  override readonly name = 'GatewayDrainingError';
  readonly failureType = FailureType.GatewayUnavailable;
  readonly retryable = true;
  readonly problemType = problemTypes.draining;
  readonly httpStatus = 503;
  constructor(options: ErrorOptions = {}) {
    super('The SIP gateway is shutting down and takes no new calls', options);
  }
}

/** The gateway could not join the LiveKit room; nothing was dialled. */
export class LiveKitUnavailableError extends SipGatewayError {
  override readonly name = 'LiveKitUnavailableError';
  readonly failureType = FailureType.GatewayUnavailable;
  readonly retryable = true;
  readonly problemType = problemTypes.livekitUnavailable;
  readonly httpStatus = 503;
  constructor(options: ErrorOptions = {}) {
    super('The SIP gateway could not join the LiveKit room', options);
  }
}

/**
 * The control API could not be reached (connection refused, reset or timed out). Raised
 * by the client only. Retryable: for a dial the client raises it only when nothing can
 * have been sent (`DialOutcomeUnknownError` otherwise).
 */
export class GatewayUnreachableError extends SipGatewayError {
  override readonly name = 'GatewayUnreachableError';
  readonly failureType = FailureType.GatewayUnavailable;
  readonly retryable = true;
  readonly problemType = problemTypes.internal;
  readonly httpStatus = 503;
  constructor(options: ErrorOptions = {}) {
    super('The SIP gateway control API is unreachable', options);
  }
}

/**
 * A dial request went out and no answer came back (the connection dropped or timed out
 * mid-request, or the gateway failed inside): the INVITE may have been sent. Not retried
 * as the same attempt, because the gateway's memory of dials does not survive its
 * restart and a retry could ring the callee twice; the attempt fails, and the retry
 * policy decides on a new one. Raised by the client only.
 */
export class DialOutcomeUnknownError extends SipGatewayError {
  override readonly name = 'DialOutcomeUnknownError';
  readonly failureType = FailureType.SipFailed;
  readonly retryable = false;
  readonly problemType = problemTypes.internal;
  readonly httpStatus = 502;
  constructor(options: ErrorOptions = {}) {
    super('The dial request got no answer from the SIP gateway; the call may have been placed', options);
  }
}

/** Anything unexpected inside the gateway. */
export class SipGatewayInternalError extends SipGatewayError {
  override readonly name = 'SipGatewayInternalError';
  readonly failureType = FailureType.GatewayUnavailable;
  readonly retryable = true;
  readonly problemType = problemTypes.internal;
  readonly httpStatus = 500;
  constructor(message = 'Internal SIP gateway error', options: ErrorOptions = {}) {
    super(message, options);
  }
}

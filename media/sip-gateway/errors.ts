/**
 * The SIP gateway's error taxonomy, shared by the gateway (which raises these errors), the
 * control server (which turns them into problem documents) and the client (which turns
 * problem documents back into these errors). Every class has a stable `name`, an optional
 * `cause` and says whether retrying the same request can help.
 *
 * Messages never carry a phone number: details live in typed fields.
 */

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
  internal: 'urn:kickcall:sip-gateway:internal',
} as const;
export type ProblemType = (typeof problemTypes)[keyof typeof problemTypes];

interface ErrorOptions {
  cause?: unknown;
}

/** Base class: every gateway error says whether retrying the same request can help. */
export abstract class SipGatewayError extends Error {
  abstract readonly retryable: boolean;
  /** The problem `type` the control API uses for this error. */
  abstract readonly problemType: ProblemType;
  /** The HTTP status the control API answers with. */
  abstract readonly httpStatus: number;
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * The far end (or the carrier) answered the INVITE with a final non-2xx response, or did
 * not answer the INVITE transaction at all (reported as 408, as RFC 3261 §8.1.3.1 says).
 * Not retryable as-is: busy or rejected is the callee's answer; a new attempt is a
 * business decision.
 */
export class SipCallError extends SipGatewayError {
  override readonly name = 'SipCallError';
  readonly retryable = false;
  readonly problemType = problemTypes.sipCallFailed;
  readonly httpStatus = 502;
  constructor(
    /** SIP status code of the final response, e.g. 486. */
    readonly sipStatusCode: number,
    /** Reason phrase of the final response, e.g. "Busy Here". */
    readonly sipStatus: string,
    options: ErrorOptions = {},
  ) {
    super(`SIP call failed with ${sipStatusCode} ${sipStatus}`, options);
  }
}

/** Nobody answered within the ringing timeout; the gateway sent CANCEL. */
export class SipNoAnswerError extends SipGatewayError {
  override readonly name = 'SipNoAnswerError';
  readonly retryable = false;
  readonly problemType = problemTypes.noAnswer;
  readonly httpStatus = 504;
  constructor(
    readonly ringingTimeoutMs: number,
    options: ErrorOptions = {},
  ) {
    super(`No answer within the ringing timeout of ${ringingTimeoutMs} ms`, options);
  }
}

/** A REFER was rejected, or its NOTIFY reported a non-2xx final status, or it timed out. */
export class SipTransferError extends SipGatewayError {
  override readonly name = 'SipTransferError';
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
  readonly retryable = false;
  readonly problemType = problemTypes.idempotencyConflict;
  readonly httpStatus = 409;
  constructor(options: ErrorOptions = {}) {
    super('A different call already uses this room and participant identity', options);
  }
}

/** The request body failed validation. */
export class InvalidRequestError extends SipGatewayError {
  override readonly name = 'InvalidRequestError';
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
  readonly retryable = true;
  readonly problemType = problemTypes.livekitUnavailable;
  readonly httpStatus = 503;
  constructor(options: ErrorOptions = {}) {
    super('The SIP gateway could not join the LiveKit room', options);
  }
}

/**
 * The control API could not be reached (connection refused, reset or timed out). Raised
 * by the client only. Retryable, but note that a timeout after the request was sent may
 * mean the call was placed: the control API's idempotency makes the retry safe.
 */
export class GatewayUnreachableError extends SipGatewayError {
  override readonly name = 'GatewayUnreachableError';
  readonly retryable = true;
  readonly problemType = problemTypes.internal;
  readonly httpStatus = 503;
  constructor(options: ErrorOptions = {}) {
    super('The SIP gateway control API is unreachable', options);
  }
}

/** Anything unexpected inside the gateway. */
export class SipGatewayInternalError extends SipGatewayError {
  override readonly name = 'SipGatewayInternalError';
  readonly retryable = true;
  readonly problemType = problemTypes.internal;
  readonly httpStatus = 500;
  constructor(message = 'Internal SIP gateway error', options: ErrorOptions = {}) {
    super(message, options);
  }
}

/** Error names that must not be retried as-is, for the activity boundary. */
export const nonRetryableErrorNames = [
  'SipCallError',
  'SipNoAnswerError',
  'SipTransferError',
  'SipParticipantNotFoundError',
  'SipCallNotActiveError',
  'IdempotencyConflictError',
  'InvalidRequestError',
] as const;

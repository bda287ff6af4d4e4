/**
 * Kickcall's one error taxonomy. Every error class says whether retrying can help and
 * keeps its cause; at the activity boundary errors become `ApplicationFailure`s whose
 * `type` is one of `FailureType`, which is what workflows branch on. Defined here, free
 * of Node APIs, so deterministic workflow code can import it.
 */

export const FailureType = {
  /** The callee's line is busy (SIP 486/600). */
  SipBusy: 'SipBusy',
  /** The callee or the network refused the call (603 and other 4xx/6xx). */
  SipRejected: 'SipRejected',
  /** Nobody answered before the ringing timeout. */
  SipNoAnswer: 'SipNoAnswer',
  /** The carrier or gateway failed (5xx, network, transport). Retryable. */
  SipFailed: 'SipFailed',
  /** The SIP gateway could not be reached, is shutting down, or failed inside. Retryable. */
  GatewayUnavailable: 'GatewayUnavailable',
  /** A cold transfer (SIP REFER) was refused or did not complete. */
  TransferFailed: 'TransferFailed',
  /** The call's media agent did not answer a command (gone, or too slow). Retryable. */
  AgentUnavailable: 'AgentUnavailable',
  /** A request that can never succeed as given. */
  InvalidInput: 'InvalidInput',
  /** A control request that the target's current state does not allow (pause a paused campaign). */
  InvalidTransition: 'InvalidTransition',
  /** A webhook receiver answered non-2xx or not at all. Retryable, with backoff. */
  WebhookDeliveryFailed: 'WebhookDeliveryFailed',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types an activity retry cannot fix: the workflow decides what happens next. */
export const nonRetryableFailureTypes: FailureType[] = [
  FailureType.SipBusy,
  FailureType.SipRejected,
  FailureType.SipNoAnswer,
  FailureType.TransferFailed,
  FailureType.InvalidInput,
  FailureType.InvalidTransition,
];

/** Base of every Kickcall error. */
export abstract class KickcallError extends Error {
  abstract readonly failureType: FailureType;
  /** Whether trying the same thing again may succeed. */
  abstract readonly retryable: boolean;
}

export class InvalidInputError extends KickcallError {
  override readonly name = 'InvalidInputError';
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
}

/**
 * Maps a final SIP status of a failed INVITE to its failure type. 486 Busy Here and
 * 600 Busy Everywhere are busy; 408/480 (the callee's side gave up ringing) count as no
 * answer; 5xx is a server or carrier failure worth retrying; every other 4xx/6xx is a
 * rejection.
 */
export function failureTypeForSipStatus(sipStatusCode: number): FailureType {
  if (sipStatusCode === 486 || sipStatusCode === 600) return FailureType.SipBusy;
  if (sipStatusCode === 408 || sipStatusCode === 480) return FailureType.SipNoAnswer;
  if (sipStatusCode >= 500 && sipStatusCode < 600) return FailureType.SipFailed;
  return FailureType.SipRejected;
}

/** The far end answered the INVITE with a final failure status. */
export class SipCallError extends KickcallError {
  override readonly name = 'SipCallError';
  readonly failureType: FailureType;
  readonly retryable: boolean;
  constructor(
    readonly sipStatusCode: number,
    readonly sipStatus: string,
    options?: { cause?: unknown },
  ) {
    super(`call failed with SIP ${sipStatusCode} ${sipStatus}`, options);
    this.failureType = failureTypeForSipStatus(sipStatusCode);
    this.retryable = this.failureType === FailureType.SipFailed;
  }
}

/** Nobody answered before the ringing timeout; the dial was cancelled. */
export class SipNoAnswerError extends KickcallError {
  override readonly name = 'SipNoAnswerError';
  readonly failureType = FailureType.SipNoAnswer;
  readonly retryable = false;
  constructor(
    readonly ringingTimeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`no answer within ${ringingTimeoutMs} ms`, options);
  }
}

/**
 * The smoke call: the smallest real call through the stack. It creates the call's room,
 * dials the callee over SIP, holds the line for a moment and hangs up, and reports the
 * disposition. The full call actor grows from here; this one proves the wiring.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DialRequest, TelephonyActivities } from '../activities/telephony.js';
import { FailureType, nonRetryableFailureTypes } from './errors.js';
import { calleeIdentityFor, roomNameFor } from './ids.js';

export interface SmokeCallInput {
  trunk: DialRequest['trunk'];
  /** Destination, E.164. */
  callTo: string;
  /** Ringing timeout; the dial is cancelled after it. Default 20 s. */
  ringingTimeoutMs?: number;
  /** How long to keep an answered call up before hanging up. Default 3 s. */
  holdMs?: number;
}

export type SmokeCallDisposition = 'answered' | 'busy' | 'no_answer' | 'rejected' | 'failed';

export interface SmokeCallResult {
  disposition: SmokeCallDisposition;
  roomName: string;
  sipCallId?: string;
  /** SIP status of a failed dial, when the far end gave one. */
  sipStatusCode?: number;
  /** From dial start to answer. */
  answerAfterMs?: number;
  heldMs?: number;
}

const telephony = proxyActivities<TelephonyActivities>({
  startToCloseTimeout: '90 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: nonRetryableFailureTypes },
});

export async function smokeCallWorkflow(input: SmokeCallInput): Promise<SmokeCallResult> {
  const { workflowId } = workflowInfo();
  const roomName = roomNameFor(workflowId);
  const holdMs = input.holdMs ?? 3000;

  setCurrentDetails('Creating the call room');
  await telephony.createRoom({ roomName, emptyTimeoutS: 60 });
  try {
    setCurrentDetails('Dialling');
    const dialStartedAt = Date.now();
    const dialed = await telephony.dialCallee({
      trunk: input.trunk,
      callTo: input.callTo,
      roomName,
      participantIdentity: calleeIdentityFor(workflowId),
      ringingTimeoutMs: input.ringingTimeoutMs ?? 20_000,
      maxCallDurationMs: holdMs + 60_000,
    });
    const answerAfterMs = Date.now() - dialStartedAt;
    setCurrentDetails('Answered: holding the line');
    await sleep(holdMs, { summary: 'hold the answered line' });
    return { disposition: 'answered', roomName, sipCallId: dialed.sipCallId, answerAfterMs, heldMs: holdMs };
  } catch (err) {
    const failure = dialFailure(err);
    if (!failure) throw err;
    return { roomName, ...failure };
  } finally {
    setCurrentDetails('Hanging up');
    // Hang up even if the workflow is being cancelled.
    await CancellationScope.nonCancellable(() => telephony.hangUp({ roomName }));
  }
}

/** Maps a failed dial to its disposition; undefined for anything that is not a dial outcome. */
function dialFailure(err: unknown): Pick<SmokeCallResult, 'disposition' | 'sipStatusCode'> | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const detail = err.cause.details?.[0] as { sipStatusCode?: number } | undefined;
  const status = detail?.sipStatusCode === undefined ? {} : { sipStatusCode: detail.sipStatusCode };
  switch (err.cause.type) {
    case FailureType.SipBusy:
      return { disposition: 'busy', ...status };
    case FailureType.SipNoAnswer:
      return { disposition: 'no_answer', ...status };
    case FailureType.SipRejected:
      return { disposition: 'rejected', ...status };
    case FailureType.SipFailed:
    case FailureType.GatewayUnavailable:
      return { disposition: 'failed', ...status };
    default:
      return undefined;
  }
}

/**
 * Telephony activities: the call's LiveKit room and its SIP leg. Built by a factory over
 * clients made once in the worker, so tests can pass real or fake ones. Each activity is
 * idempotent: the room name and participant identity come from the workflow ID, LiveKit
 * returns an existing room, and the dialer never dials the same identity twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { RoomServiceClient } from 'livekit-server-sdk';
import { heartbeating } from './heartbeat.js';
import { FailureType, KickcallError } from '../workflows/errors.js';
import { toApplicationFailure } from './error-taxonomy.js';
import { metrics } from '../deploy/telemetry/metrics.js';
import { SipCallNotActiveError, SipParticipantNotFoundError } from '../media/sip-gateway/errors.js';

/** An outbound trunk, given inline with each dial. */
export interface OutboundTrunk {
  /** Carrier's SIP address, `host:port`. */
  address: string;
  /** Caller IDs this trunk may present, E.164. */
  numbers: string[];
}

export interface DialRequest {
  trunk: OutboundTrunk;
  /** Destination, E.164. Only ever in payloads, never in names or logs. */
  callTo: string;
  roomName: string;
  participantIdentity: string;
  /** How long to let it ring before giving up (SIP CANCEL). */
  ringingTimeoutMs: number;
  /** Hard cap on the call's length, enforced by the gateway. */
  maxCallDurationMs: number;
}

export interface DialResult {
  participantIdentity: string;
  sipCallId: string;
}

export interface TransferRequest {
  roomName: string;
  participantIdentity: string;
  /** `sip:` URI or E.164 (sent as `tel:`), put in the REFER's Refer-To. */
  transferTo: string;
}

/** What the activities need from a SIP bridge (Kickcall's gateway, or LiveKit SIP). */
export interface SipDialer {
  /** Dials and resolves once the callee answers; rejects with a `KickcallError`. */
  dial(request: DialRequest): Promise<DialResult>;
  /** Cold transfer (SIP REFER); resolves once the far end accepted it and the leg is gone. */
  transfer(request: TransferRequest): Promise<void>;
}

export interface TelephonyDeps {
  rooms: Pick<RoomServiceClient, 'createRoom' | 'deleteRoom'>;
  dialer: SipDialer;
}

/** A failed dial as the `outcome` label of `kickcall_dial_outcomes_total`. */
function dialOutcomeOf(err: KickcallError): string {
  switch (err.failureType) {
    case FailureType.SipBusy:
      return 'busy';
    case FailureType.SipNoAnswer:
      return 'no_answer';
    case FailureType.SipRejected:
      return 'rejected';
    default:
      return 'failed';
  }
}

export function createTelephonyActivities(deps: TelephonyDeps) {
  return {
    /** Creates the call's room (or finds it: LiveKit's CreateRoom is idempotent). */
    async createRoom(input: { roomName: string; emptyTimeoutS: number }): Promise<void> {
      await deps.rooms.createRoom({ name: input.roomName, emptyTimeout: input.emptyTimeoutS });
    },

    /** Dials the callee into the room and waits for the answer. */
    async dialCallee(request: DialRequest): Promise<DialResult> {
      // Ringing can last the whole ringing timeout: heartbeat so a lost worker shows quickly.
      try {
        const result = await heartbeating(() => deps.dialer.dial(request));
        metrics.dialOutcomes.inc({ outcome: 'answered' });
        return result;
      } catch (err) {
        if (err instanceof KickcallError) metrics.dialOutcomes.inc({ outcome: dialOutcomeOf(err) });
        throw toApplicationFailure(err);
      }
    },

    /** Cold-transfers the callee; TransferFailed when the far end refuses or never confirms. */
    async transferCallee(request: TransferRequest): Promise<void> {
      try {
        await deps.dialer.transfer(request);
      } catch (err) {
        // The callee hung up while hearing the notice: nothing left to transfer. A failed
        // transfer, not a fault: the call goes on to end as the caller's hang-up says.
        if (err instanceof SipParticipantNotFoundError || err instanceof SipCallNotActiveError) {
          throw ApplicationFailure.create({ type: FailureType.TransferFailed, message: `nothing to transfer: ${err.message}`, nonRetryable: true });
        }
        throw toApplicationFailure(err);
      }
    },

    /** Ends the call for everyone by deleting the room; a room already gone is fine. */
    async hangUp(input: { roomName: string }): Promise<void> {
      try {
        await deps.rooms.deleteRoom(input.roomName);
      } catch (err) {
        if (!/not.?found|does not exist/i.test(String((err as Error).message))) throw err;
      }
    },
  };
}

export type TelephonyActivities = ReturnType<typeof createTelephonyActivities>;
export { FailureType };


/**
 * The SipDialer port implemented by Kickcall's SIP gateway (the stand-in for LiveKit SIP,
 * see README "SIP"). Dials with `waitUntilAnswered` so the activity completes on answer;
 * the gateway's idempotency by room and identity makes a retried activity safe.
 */
import {
  GatewayDrainingError,
  GatewayUnreachableError,
  LiveKitUnavailableError,
  SipCallError as GatewaySipCallError,
  SipNoAnswerError as GatewaySipNoAnswerError,
} from '../media/sip-gateway/errors.js';
import { SipGatewayClient } from '../media/sip-gateway/client.js';
import { GatewayUnavailableError, SipCallError, SipNoAnswerError } from '../workflows/errors.js';
import type { DialRequest, DialResult, SipDialer } from './telephony.js';

/** Translates the gateway's errors into Kickcall's taxonomy; anything else passes through. */
export function translateGatewayError(err: unknown): unknown {
  if (err instanceof GatewaySipCallError) return new SipCallError(err.sipStatusCode, err.sipStatus, { cause: err });
  if (err instanceof GatewaySipNoAnswerError) return new SipNoAnswerError(err.ringingTimeoutMs, { cause: err });
  if (err instanceof GatewayUnreachableError || err instanceof GatewayDrainingError || err instanceof LiveKitUnavailableError) {
    return new GatewayUnavailableError(err.message, { cause: err });
  }
  return err;
}

export function createGatewayDialer(controlUrl: string): SipDialer {
  const client = new SipGatewayClient({ baseUrl: controlUrl });
  return {
    async dial(request: DialRequest): Promise<DialResult> {
      try {
        const res = await client.createSipParticipant({
          trunk: { address: request.trunk.address, numbers: request.trunk.numbers },
          callTo: request.callTo,
          roomName: request.roomName,
          participantIdentity: request.participantIdentity,
          ringingTimeoutMs: request.ringingTimeoutMs,
          maxCallDurationMs: request.maxCallDurationMs,
          waitUntilAnswered: true,
          // The room's attributes are visible to every participant: keep numbers out.
          hidePhoneNumber: true,
        });
        return { participantIdentity: res.participantIdentity, sipCallId: res.sipCallId };
      } catch (err) {
        throw translateGatewayError(err);
      }
    },
  };
}

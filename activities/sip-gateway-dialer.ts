/**
 * The SipDialer port implemented by Kickcall's SIP gateway (the stand-in for LiveKit SIP,
 * see README "SIP"). Dials with `waitUntilAnswered` so the activity completes on answer;
 * the gateway's idempotency by room and identity makes a retried activity safe.
 */
import { SipGatewayClient } from '../media/sip-gateway/client.js';
import type { DialRequest, DialResult, SipDialer, TransferRequest } from './telephony.js';

export function createGatewayDialer(controlUrl: string): SipDialer {
  const client = new SipGatewayClient({ baseUrl: controlUrl });
  return {
    async dial(request: DialRequest): Promise<DialResult> {
      // The client throws Kickcall errors (SipCallError, SipNoAnswerError, gateway
      // unavailable...), which the activity turns into typed ApplicationFailures.
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
    },

    async transfer(request: TransferRequest): Promise<void> {
      const transferTo = request.transferTo.startsWith('sip:') || request.transferTo.startsWith('tel:') ? request.transferTo : `tel:${request.transferTo}`;
      await client.transferSipParticipant({ roomName: request.roomName, participantIdentity: request.participantIdentity, transferTo });
    },
  };
}

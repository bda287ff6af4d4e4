/**
 * How an inbound call workflow is started: the API's LiveKit webhook receiver
 * signal-with-starts it when the SIP caller joins a `call_inbound_*` room. Defined here so
 * both sides share it; the workflow validates the room metadata (the dispatch rule's).
 */
export interface InboundCallStart {
  roomName: string;
  /** The SIP caller's participant identity in the room (no phone number in it). */
  callerIdentity: string;
  /** The room's metadata as LiveKit reports it: the dispatch rule's JSON. */
  roomMetadata: string;
  /**
   * The caller's number (E.164), when the trunk shares it (`includeCallerNumber`, the
   * participant's `sip.phoneNumber`): an opt-out during the call adds it to the tenant's
   * do-not-call list, and an erasure of the number finds the call.
   */
  callerNumber?: string;
}

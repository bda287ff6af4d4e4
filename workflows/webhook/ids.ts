/**
 * The webhook delivery workflow's ID: one workflow per endpoint and event, so the relay
 * starting it twice (a crash between start and mark) is refused by Temporal. Endpoint
 * IDs are generated and event IDs name calls and campaigns, so neither carries PII.
 */
import { InvalidInputError } from '../errors.js';

/** Endpoint IDs hold no `:`, so the first `:` of the workflow ID ends the endpoint's part. */
const endpointIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** `webhook_<endpointId>:<eventId>`, e.g. `webhook_we-1a2b:outbound_t1_direct_c1_1:call.ended`. */
export function webhookDeliveryWorkflowId(endpointId: string, eventId: string): string {
  if (!endpointIdPattern.test(endpointId)) throw new InvalidInputError('endpointId must be 1-64 letters, digits, "_" or "-"');
  if (eventId.length === 0 || eventId.length > 200) throw new InvalidInputError('eventId must be 1-200 characters');
  return `webhook_${endpointId}:${eventId}`;
}

/**
 * Names derived from a workflow ID, so retries and replays address the same room and
 * participant. Workflow IDs carry no PII, so neither do these.
 */
import { InvalidInputError } from './errors.js';

/** LiveKit room names allow letters, digits, `-`, `_`, `.`; anything else becomes `_`. */
export function roomNameFor(workflowId: string): string {
  return `call_${workflowId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** The callee's participant identity in the call's room. */
export function calleeIdentityFor(workflowId: string, attempt = 1): string {
  return `sip_callee_${attempt}_${workflowId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
}

/** What a call workflow's ID is made of; each part 1-40 letters, digits or `-`. */
export interface CallIdParts {
  tenantId: string;
  /** Absent for a call started on its own (API), which reads as `direct`. */
  campaignId?: string;
  contactId: string;
  /** 1 for the first attempt. */
  attempt: number;
}

const idPart = /^[A-Za-z0-9-]{1,40}$/;

/**
 * The outbound call workflow's ID, which is also the call's ID on NATS and in the
 * database: `outbound_<tenant>_<campaign|direct>_<contact>_<attempt>` (its room is `call_<id>`). Parts may not hold `_`,
 * so the ID reads back unambiguously; it never holds a phone number.
 */
export function callWorkflowId(parts: CallIdParts): string {
  const campaign = parts.campaignId ?? 'direct';
  for (const [name, value] of [['tenantId', parts.tenantId], ['campaignId', campaign], ['contactId', parts.contactId]] as const) {
    if (!idPart.test(value)) throw new InvalidInputError(`${name} must be 1-40 letters, digits or "-"`);
  }
  if (!Number.isInteger(parts.attempt) || parts.attempt < 1 || parts.attempt > 99) {
    throw new InvalidInputError('attempt must be a whole number from 1 to 99');
  }
  return `outbound_${parts.tenantId}_${campaign}_${parts.contactId}_${parts.attempt}`;
}

/** Inbound call IDs come from the room the SIP gateway created: `call_inbound_<tenant>_<hex>`. */
export function inboundCallIdForRoom(roomName: string): string | undefined {
  return /^call_(inbound_[A-Za-z0-9-]+_[0-9a-f]{16})$/.exec(roomName)?.[1];
}

/** A campaign's workflow ID: `campaign_<tenant>_<campaign>`, one running campaign per ID. */
export function campaignWorkflowId(tenantId: string, campaignId: string): string {
  for (const [name, value] of [['tenantId', tenantId], ['campaignId', campaignId]] as const) {
    if (!idPart.test(value)) throw new InvalidInputError(`${name} must be 1-40 letters, digits or "-"`);
  }
  return `campaign_${tenantId}_${campaignId}`;
}

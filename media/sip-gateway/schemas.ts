/**
 * The control API's contract, defined once: the server validates with these schemas and
 * the client imports the same types. Field names follow LiveKit's CreateSIPParticipant
 * and TransferSIPParticipant so callers can switch between the two.
 */
import { z } from 'zod';

/** A dialable number or SIP user part: E.164 (+ and digits) or a short code. */
const phoneNumber = z.string().regex(/^\+?[0-9*#]{2,32}$/, 'expected a phone number such as +15550100000');

/** host[:port] of a SIP trunk: no scheme, no user part. */
const trunkAddress = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'expected host or host:port, e.g. 127.0.0.1:5070');

/** LiveKit room names and identities: printable, no whitespace. */
const livekitName = z.string().min(1).max(256).regex(/^[^\s]+$/, 'must not contain whitespace');

export const outboundTrunkSchema = z.object({
  address: trunkAddress,
  transport: z.literal('udp').default('udp'),
  /** Caller IDs; the first one is used. */
  numbers: z.array(phoneNumber).min(1),
  authUsername: z.string().min(1).optional(),
  authPassword: z.string().min(1).optional(),
});

export const createSipParticipantRequestSchema = z
  .object({
    trunk: outboundTrunkSchema,
    callTo: phoneNumber,
    roomName: livekitName,
    participantIdentity: livekitName,
    participantName: z.string().max(256).optional(),
    participantMetadata: z.string().max(64 * 1024).optional(),
    participantAttributes: z.record(z.string(), z.string()).optional(),
    /** How long to let the phone ring before CANCEL (ms). */
    ringingTimeoutMs: z.number().int().min(1000).max(300_000),
    /** Hang up this long after answer (ms); unlimited when absent. */
    maxCallDurationMs: z.number().int().min(1000).max(24 * 3600_000).optional(),
    /** Respond only once the call is answered (or has failed). */
    waitUntilAnswered: z.boolean(),
    /** Leave sip.phoneNumber and sip.trunkPhoneNumber out of the participant's attributes. */
    hidePhoneNumber: z.boolean().default(false),
    /** Extra X- headers on the INVITE. */
    headers: z.record(z.string().regex(/^X-[A-Za-z0-9-]+$/), z.string().max(1024)).optional(),
  })
  .refine((r) => (r.trunk.authUsername === undefined) === (r.trunk.authPassword === undefined), {
    message: 'authUsername and authPassword go together',
    path: ['trunk', 'authUsername'],
  });

export type CreateSipParticipantRequest = z.input<typeof createSipParticipantRequestSchema>;
export type CreateSipParticipantParsed = z.output<typeof createSipParticipantRequestSchema>;

export interface CreateSipParticipantResponse {
  participantIdentity: string;
  roomName: string;
  /** The gateway's call ID (sip.callID attribute), e.g. SCL_3kd9a0f1b2c4. */
  sipCallId: string;
}

export const transferSipParticipantRequestSchema = z.object({
  roomName: livekitName,
  participantIdentity: livekitName,
  transferTo: z.string().regex(/^(tel:\+?[0-9*#-]{2,32}|sips?:[^\s<>]+)$/, 'expected tel:+1... or sip:...'),
});

export type TransferSipParticipantRequest = z.input<typeof transferSipParticipantRequestSchema>;

export interface TransferSipParticipantResponse {
  roomName: string;
  participantIdentity: string;
}

/** RFC 9457 problem document, with the SIP fields the gateway adds. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  sipStatusCode: z.number().int().optional(),
  sipStatus: z.string().optional(),
  ringingTimeoutMs: z.number().int().optional(),
  callStatus: z.string().optional(),
  issues: z.array(z.string()).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const createSipParticipantResponseSchema = z.object({
  participantIdentity: z.string(),
  roomName: z.string(),
  sipCallId: z.string(),
});

export const transferSipParticipantResponseSchema = z.object({
  roomName: z.string(),
  participantIdentity: z.string(),
});

// --- Inbound routing (LiveKit SIP's CreateSIPInboundTrunk and CreateSIPDispatchRule) ---

/** E.164: a + and 7 to 15 digits, the form dialled numbers are normalised to. */
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 number such as +15550100200');

/** IDs of trunks and rules: chosen by the caller, so upserts are idempotent. */
const routeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, "-" or "_"');

export const inboundTrunkSchema = z
  .object({
    trunkId: routeId,
    /**
     * Whose numbers these are. The same rule as the inbound workflow's tenant IDs, so the
     * room name `<prefix>_<tenant>_<random>` needs no escaping and parses back.
     */
    tenantId: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'expected 1-40 letters, digits or "-"'),
    /** Numbers the trunk answers, E.164. */
    numbers: z.array(e164).min(1).max(10_000),
    /** Source IPs or CIDR blocks allowed to send calls on this trunk; any when absent. */
    allowedAddresses: z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()])).min(1).optional(),
    /**
     * Put the caller's number in `sip.phoneNumber` (and the dialled one in
     * `sip.trunkPhoneNumber`). Off by default: room participants and logs never see it.
     */
    includeCallerNumber: z.boolean().default(false),
  })
  .strict();
export type InboundTrunkRequest = z.input<typeof inboundTrunkSchema>;
export type InboundTrunk = z.output<typeof inboundTrunkSchema>;

export const dispatchRuleSchema = z
  .object({
    ruleId: routeId,
    /** The trunks whose calls this rule takes; a trunk has at most one rule. */
    trunkIds: z.array(routeId).min(1),
    /** Room names start with this; the inbound call workflow starts for `call_inbound` rooms. */
    roomPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'expected 1-40 letters, digits, "-" or "_"').default('call_inbound'),
    /** Opaque to the gateway (JSON for the inbound workflow): becomes the room's metadata. */
    metadata: z.string().max(64 * 1024).default(''),
  })
  .strict();
export type DispatchRuleRequest = z.input<typeof dispatchRuleSchema>;
export type DispatchRule = z.output<typeof dispatchRuleSchema>;

/** The routes file (`SIP_INBOUND_ROUTES_FILE`): what the gateway starts with. */
export const inboundRoutesFileSchema = z
  .object({
    trunks: z.array(inboundTrunkSchema).default([]),
    rules: z.array(dispatchRuleSchema).default([]),
  })
  .strict();
export type InboundRoutesFile = z.input<typeof inboundRoutesFileSchema>;

export const inboundTrunkListSchema = z.object({ items: z.array(inboundTrunkSchema) });
export const dispatchRuleListSchema = z.object({ items: z.array(dispatchRuleSchema) });

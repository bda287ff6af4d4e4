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

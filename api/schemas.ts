/**
 * Request and response shapes shared by several resources, declared once in zod. Inputs
 * are strict (an unknown field is refused: a misspelt `budgetUsd` must not silently mean
 * "no budget"); phone numbers are parsed to E.164 with libphonenumber-js.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { toolNames } from '../workflows/tool-names.js';
import { ApiProblem, problem } from './problem.js';

export const idParam = z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'expected 1-40 letters, digits or "-"');

/**
 * Whether a contact ID carries the contact's own phone number, in any of the forms a CRM
 * writes it (with or without the country code, a trunk `0` or an `00` prefix, dashes, or
 * a prefix such as `cust-`). Contact IDs name calls, so they reach workflow IDs, NATS
 * subjects and logs, where a number must never be; a CRM's numeric ID is fine.
 */
export function idIsThePhoneNumber(id: string, phoneE164: string): boolean {
  const digits = id.replace(/[^0-9]/g, '');
  const national = parsePhoneNumberFromString(phoneE164)?.nationalNumber;
  return national !== undefined && national.length >= 6 && digits.includes(national);
}

/** The problem reported for `idIsThePhoneNumber`. */
export const idIsThePhoneNumberReason = 'contains the contact’s own phone number; IDs name calls and appear in logs, so use one without personal data';

export const e164 = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const parsed = parsePhoneNumberFromString(value);
    if (!parsed?.isValid()) {
      ctx.addIssue({ code: 'custom', message: 'expected a valid phone number in E.164 form, e.g. +14155550123' });
      return z.NEVER;
    }
    return parsed.number;
  })
  .meta({ description: 'E.164, e.g. `+14155550123`.' });

export const timeZone = z
  .string()
  .max(64)
  .refine((z) => DateTime.now().setZone(z).isValid, 'expected an IANA time zone, e.g. America/New_York');

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:mm');

export const callingWindowSchema = z
  .strictObject({
    days: z.array(z.number().int().min(1).max(7)).min(1).max(7).optional().meta({ description: 'ISO weekdays, 1 = Monday.' }),
    start: hhmm.optional(),
    end: hhmm.optional(),
  })
  .refine((w) => !w.start || !w.end || w.start < w.end, 'end must be after start');

const outcomeRetry = z.strictObject({ maxAttempts: z.number().int().min(1).max(10), delayS: z.number().int().min(0).max(30 * 86400) });
export const retryPolicySchema = z.strictObject({ busy: outcomeRetry.optional(), no_answer: outcomeRetry.optional(), voicemail: outcomeRetry.optional(), failed: outcomeRetry.optional() });

export const agentSettingsSchema = z.strictObject({
  instructions: z.string().min(1).max(20_000),
  greeting: z.string().min(1).max(1000),
  language: z.string().max(35).optional(),
  voice: z.string().regex(/^aura-2-[a-z]+-[a-z]{2}$/, 'expected a Deepgram Aura-2 voice, e.g. aura-2-andromeda-en').optional(),
  tools: z.array(z.enum(toolNames)).optional(),
  voicemailMessage: z.string().max(1000).optional(),
  fallback: z.enum(['transfer', 'hangup']).optional(),
});

export const transferSchema = z.strictObject({
  to: z.string().regex(/^(sip:[^\s@]+@[^\s]+|\+[1-9]\d{6,14})$/, 'expected a SIP URI or an E.164 number'),
  label: z.string().max(100).optional(),
  notice: z.string().max(500).optional(),
});

export const limitsSchema = z.strictObject({
  ringingTimeoutS: z.number().int().min(5).max(120).optional(),
  maxDurationS: z.number().int().min(10).max(4 * 3600).optional(),
  silenceTimeoutS: z.number().int().min(5).max(600).optional(),
});

export const analysisSchema = z.strictObject({
  goal: z.string().max(2000).optional(),
  fields: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_]{0,39}$/),
      z.strictObject({ type: z.enum(['string', 'number', 'boolean', 'enum']), description: z.string().max(500), values: z.array(z.string().max(100)).max(50).optional() }),
    )
    .optional(),
});

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'The previous page’s `nextCursor`.' }),
};

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Opaque cursors over (created_at, id), newest first. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify({ at: at.toISOString(), id })).toString('base64url');
}

/** A cursor's instant and ID as this API writes them: a real date, no NUL (PostgreSQL refuses it). */
export function isCursorPart(at: string, id: string): boolean {
  const year = new Date(at).getUTCFullYear();
  return year >= 1 && year <= 9999 && id.length <= 300 && !id.includes('\u0000');
}

/** Reads a cursor this API issued; anything else is the caller's error. */
export function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    if (typeof parsed.at === 'string' && typeof parsed.id === 'string' && isCursorPart(parsed.at, parsed.id)) return { at: new Date(parsed.at), id: parsed.id };
  } catch {
    // answered below
  }
  throw new ApiProblem(problem('invalid-request', 400, 'Invalid request', 'query.cursor: not a cursor this API issued.'));
}

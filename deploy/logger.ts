/**
 * Structured, PII-safe logging for every process. Messages are static text; details go
 * in fields. Fields that can hold phone numbers or speech are redacted by path, so a
 * careless `log.info({ request })` still never writes a number or a transcript.
 */
import pino, { type Logger } from 'pino';

const redactedPaths = [
  'callTo', '*.callTo', 'phone', '*.phone', 'phoneE164', '*.phoneE164', 'numbers', '*.numbers',
  'to', '*.to', 'from', '*.from', 'transcript', '*.transcript', 'text', '*.text',
];

export function createLogger(name: string, level: string = process.env.KICKCALL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: redactedPaths, censor: '[redacted]' } });
}

/** Masks all but the last two digits of an E.164 number, for the rare log that needs a hint. */
export function maskPhone(e164: string): string {
  return e164.length <= 4 ? '***' : `${e164.slice(0, 2)}${'*'.repeat(e164.length - 4)}${e164.slice(-2)}`;
}

export type { Logger };

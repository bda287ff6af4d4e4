/**
 * Webhook signatures as the Standard Webhooks spec defines them
 * (https://www.standardwebhooks.com), so integrators can verify Kickcall's webhooks with
 * any Standard Webhooks library:
 *
 * - `webhook-id`: the message's ID, the same on every attempt (receivers dedupe on it);
 * - `webhook-timestamp`: the attempt's time in unix seconds (receivers refuse stale ones);
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed
 *   by the base64-decoded part of the `whsec_...` secret. While a rotated secret is still
 *   valid the message carries one signature per secret, separated by spaces.
 *
 * Pure functions over node:crypto; the receiver's side is here too, for tests and as the
 * reference an integrator's verifier must agree with.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { FailureType, InvalidInputError, KickcallError } from '../workflows/errors.js';

export const webhookHeaderNames = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** A type, not an interface, so it passes where any header record is taken. */
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

const secretPrefix = 'whsec_';
/** The spec asks for 24 to 64 random bytes. */
const secretBytes = 32;

/** A fresh signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `${secretPrefix}${randomBytes(secretBytes).toString('base64')}`;
}

/** The HMAC key inside a `whsec_...` secret (the prefix is optional, as in the spec's libraries). */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new InvalidInputError('a webhook secret must be whsec_ followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new InvalidInputError('a webhook secret must not be empty');
  return key;
}

function hmac(secret: string, id: string, timestampS: number, body: string): Buffer {
  return createHmac('sha256', secretKey(secret)).update(`${id}.${timestampS}.${body}`, 'utf8').digest();
}

/**
 * The three headers for one attempt. `secrets`: the current secret first, then a rotated
 * one that has not expired yet; each adds a `v1,` signature.
 */
export function signWebhook(input: { id: string; timestampS: number; body: string; secrets: readonly string[] }): WebhookHeaders {
  if (input.secrets.length === 0) throw new InvalidInputError('at least one webhook secret is needed to sign');
  if (!Number.isInteger(input.timestampS) || input.timestampS < 0) throw new InvalidInputError('the webhook timestamp must be whole unix seconds');
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestampS),
    'webhook-signature': input.secrets.map((s) => `v1,${hmac(s, input.id, input.timestampS, input.body).toString('base64')}`).join(' '),
  };
}

export type WebhookVerificationReason = 'missing_headers' | 'timestamp_too_old' | 'timestamp_too_new' | 'bad_signature';

/** A webhook that must not be trusted; `reason` says why. Retrying the same message cannot help. */
export abstract class WebhookVerificationError extends KickcallError {
  readonly failureType = FailureType.InvalidInput;
  readonly retryable = false;
  abstract readonly reason: WebhookVerificationReason;
}

export class WebhookHeadersMissingError extends WebhookVerificationError {
  override readonly name = 'WebhookHeadersMissingError';
  readonly reason = 'missing_headers';
  constructor(readonly missing: string[]) {
    super(`missing webhook headers: ${missing.join(', ')}`);
  }
}

/** The timestamp is outside the tolerance: a replay (too old) or a clock far off (too new). */
export class WebhookTimestampError extends WebhookVerificationError {
  override readonly name = 'WebhookTimestampError';
  readonly reason: 'timestamp_too_old' | 'timestamp_too_new';
  constructor(
    readonly timestampS: number,
    readonly nowS: number,
    readonly toleranceS: number,
  ) {
    const tooOld = timestampS < nowS;
    super(`webhook timestamp is ${Math.abs(nowS - timestampS)} s ${tooOld ? 'old' : 'in the future'}, beyond the ${toleranceS} s tolerance`);
    this.reason = tooOld ? 'timestamp_too_old' : 'timestamp_too_new';
  }
}

/** No `v1` signature matches any of the given secrets (or the timestamp is not a number). */
export class WebhookSignatureError extends WebhookVerificationError {
  override readonly name = 'WebhookSignatureError';
  readonly reason = 'bad_signature';
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

/**
 * Checks a received webhook; returns its ID and timestamp, or throws a
 * `WebhookVerificationError`. `body` is the raw request body, exactly as received.
 */
export function verifyWebhook(input: {
  /** Every secret that may have signed: during a rotation, the new and the old. */
  secrets: readonly string[];
  headers: HeaderSource;
  body: string;
  /** How far the timestamp may be from now, either way, in seconds. Default 300. */
  toleranceS?: number;
  /** Now, in unix seconds. Default the system clock. */
  nowS?: number;
}): { id: string; timestampS: number } {
  const id = header(input.headers, webhookHeaderNames.id);
  const timestamp = header(input.headers, webhookHeaderNames.timestamp);
  const signature = header(input.headers, webhookHeaderNames.signature);
  const missing = Object.values(webhookHeaderNames).filter((_, i) => ![id, timestamp, signature][i]);
  if (!id || !timestamp || !signature) throw new WebhookHeadersMissingError(missing);

  if (!/^\d+$/.test(timestamp)) throw new WebhookSignatureError('webhook timestamp is not unix seconds');
  const timestampS = Number(timestamp);
  const nowS = input.nowS ?? Math.floor(Date.now() / 1000);
  const toleranceS = input.toleranceS ?? 300;
  if (Math.abs(nowS - timestampS) > toleranceS) throw new WebhookTimestampError(timestampS, nowS, toleranceS);

  const expected = input.secrets.map((s) => hmac(s, id, timestampS, input.body));
  for (const part of signature.split(' ')) {
    const [version, value] = part.split(',', 2);
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value, 'base64');
    if (expected.some((e) => e.length === given.length && timingSafeEqual(e, given))) return { id, timestampS };
  }
  throw new WebhookSignatureError('no webhook signature matches');
}

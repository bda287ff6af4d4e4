/**
 * HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617 with MD5 and qop=auth):
 * carriers challenge an INVITE with 401/407 and the gateway answers once with credentials.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm?: string;
  qop?: string;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** Parses `Digest realm="…", nonce="…", qop="auth,auth-int"`; undefined when not Digest. */
export function parseDigestChallenge(value: string): DigestChallenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m?.[1]) return undefined;
  const params = new Map<string, string>();
  for (const part of m[1].matchAll(/([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g)) {
    if (part[1]) params.set(part[1].toLowerCase(), part[2] ?? part[3] ?? '');
  }
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const challenge: DigestChallenge = { realm, nonce };
  const opaque = params.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  const algorithm = params.get('algorithm');
  if (algorithm !== undefined) challenge.algorithm = algorithm;
  const qop = params.get('qop');
  if (qop !== undefined) challenge.qop = qop;
  return challenge;
}

export interface DigestCredentials {
  username: string;
  password: string;
}

/** The digest `response` value (RFC 2617 §3.2.2.1). */
export function digestResponse(opts: {
  challenge: DigestChallenge;
  credentials: DigestCredentials;
  method: string;
  uri: string;
  nonceCount?: string;
  cnonce?: string;
}): string {
  const ha1 = md5(`${opts.credentials.username}:${opts.challenge.realm}:${opts.credentials.password}`);
  const ha2 = md5(`${opts.method}:${opts.uri}`);
  if (opts.cnonce !== undefined && opts.nonceCount !== undefined) {
    return md5(`${ha1}:${opts.challenge.nonce}:${opts.nonceCount}:${opts.cnonce}:auth:${ha2}`);
  }
  return md5(`${ha1}:${opts.challenge.nonce}:${ha2}`);
}

/** The Authorization / Proxy-Authorization header value answering a challenge. */
export function authorizationHeader(challenge: DigestChallenge, credentials: DigestCredentials, method: string, uri: string): string {
  if (challenge.algorithm && challenge.algorithm.toUpperCase() !== 'MD5') {
    throw new Error(`unsupported digest algorithm ${challenge.algorithm}`);
  }
  const useQop = challenge.qop?.split(',').some((q) => q.trim() === 'auth') ?? false;
  const cnonce = useQop ? randomBytes(8).toString('hex') : undefined;
  const nonceCount = useQop ? '00000001' : undefined;
  const response = digestResponse({ challenge, credentials, method, uri, ...(useQop ? { cnonce, nonceCount } : {}) });
  const parts = [
    `username="${credentials.username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
  ];
  if (useQop) parts.push('qop=auth', `nc=${nonceCount}`, `cnonce="${cnonce}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}

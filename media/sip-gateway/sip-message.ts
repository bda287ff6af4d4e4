/**
 * The subset of RFC 3261 message syntax the gateway speaks: requests and responses over
 * UDP, header folding, compact header names, comma-joined header values, name-addr and Via
 * parsing. Bodies are UTF-8 text (SDP, sipfrag), which is all the gateway exchanges.
 */

export type SipMethod = 'INVITE' | 'ACK' | 'BYE' | 'CANCEL' | 'REFER' | 'NOTIFY' | 'OPTIONS';
export const supportedMethods: readonly SipMethod[] = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REFER', 'NOTIFY', 'OPTIONS'];

/** RFC 3261 §7.3.3 and RFC 3515/3892/6665 compact forms, expanded on parse. */
const compactNames: Readonly<Record<string, string>> = {
  i: 'Call-ID',
  m: 'Contact',
  f: 'From',
  t: 'To',
  v: 'Via',
  l: 'Content-Length',
  c: 'Content-Type',
  e: 'Content-Encoding',
  k: 'Supported',
  s: 'Subject',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
};

/** Spellings that the simple capitalisation rule gets wrong. */
const canonicalSpellings: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
};

/**
 * Headers whose values may be joined with commas on one line (RFC 3261 §7.3.1). Others,
 * such as WWW-Authenticate, contain commas that do not separate values.
 */
const commaListHeaders = new Set(['via', 'contact', 'route', 'record-route', 'allow', 'supported', 'require', 'allow-events']);

/** Canonical spelling of a header name, with compact forms expanded. */
export function canonicalHeaderName(name: string): string {
  const trimmed = name.trim();
  const lower = trimmed.toLowerCase();
  const compact = compactNames[lower];
  if (compact) return compact;
  const special = canonicalSpellings[lower];
  if (special) return special;
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

/** An ordered, case-insensitive header list; order matters for Via and Route. */
export class SipHeaders {
  private readonly entries: { name: string; value: string }[] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    const key = canonicalHeaderName(name);
    return this.entries.find((e) => e.name === key)?.value;
  }

  getAll(name: string): string[] {
    const key = canonicalHeaderName(name);
    return this.entries.filter((e) => e.name === key).map((e) => e.value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  append(name: string, value: string): this {
    this.entries.push({ name: canonicalHeaderName(name), value: value.trim() });
    return this;
  }

  /** Puts a value before all existing values of that header (a new top Via). */
  prepend(name: string, value: string): this {
    this.entries.unshift({ name: canonicalHeaderName(name), value: value.trim() });
    return this;
  }

  /** Replaces every value of a header with one value, keeping the first one's position. */
  set(name: string, value: string): this {
    const key = canonicalHeaderName(name);
    const index = this.entries.findIndex((e) => e.name === key);
    this.delete(key);
    const entry = { name: key, value: value.trim() };
    if (index === -1) this.entries.push(entry);
    else this.entries.splice(index, 0, entry);
    return this;
  }

  delete(name: string): this {
    const key = canonicalHeaderName(name);
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]?.name === key) this.entries.splice(i, 1);
    return this;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.entries.map((e) => [e.name, e.value] as const));
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const e of this.entries) yield [e.name, e.value];
  }
}

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: string;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Raised for bytes that are not a SIP message we can read; the datagram is dropped. */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly retryable = false;
}

/**
 * Splits a header value on commas that separate values, ignoring commas inside quotes and
 * angle brackets (a display name or a URI may contain them).
 */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let inQuotes = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charAt(i);
    if (ch === '\\' && inQuotes) {
      current += ch + value.charAt(i + 1);
      i++;
      continue;
    }
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && ch === '<') angle++;
    else if (!inQuotes && ch === '>') angle = Math.max(0, angle - 1);
    if (ch === ',' && !inQuotes && angle === 0) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** Parses one datagram into a SIP message. */
export function parseSipMessage(data: Buffer | string): SipMessage {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  // RFC 3261 §7.5: tolerate leading CRLFs (keep-alives) before the start line.
  const trimmed = text.replace(/^(\r?\n)+/, '');
  const separator = /\r?\n\r?\n/.exec(trimmed);
  const head = separator ? trimmed.slice(0, separator.index) : trimmed;
  const rawBody = separator ? trimmed.slice(separator.index + separator[0].length) : '';

  // Unfold: a line starting with whitespace continues the previous header (§7.3.1).
  const lines: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 1) lines[lines.length - 1] += ' ' + line.trim();
    else lines.push(line);
  }
  const startLine = lines.shift();
  if (!startLine) throw new SipParseError('empty message');

  const headers = new SipHeaders();
  for (const line of lines) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError('malformed header line');
    const name = canonicalHeaderName(line.slice(0, colon));
    const value = line.slice(colon + 1).trim();
    if (commaListHeaders.has(name.toLowerCase())) for (const v of splitHeaderValues(value)) headers.append(name, v);
    else headers.append(name, value);
  }

  const lengthHeader = headers.get('Content-Length');
  let body = rawBody;
  if (lengthHeader !== undefined) {
    const length = Number(lengthHeader);
    if (!Number.isInteger(length) || length < 0) throw new SipParseError('bad Content-Length');
    // Content-Length counts bytes, not characters.
    const bytes = Buffer.from(rawBody, 'utf8');
    if (bytes.length < length) throw new SipParseError('truncated body');
    body = bytes.subarray(0, length).toString('utf8');
  }

  const response = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(startLine);
  if (response) {
    return { kind: 'response', status: Number(response[1]), reason: (response[2] ?? '').trim(), headers, body };
  }
  const request = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(startLine.trim());
  if (request?.[1] && request[2]) {
    return { kind: 'request', method: request[1].toUpperCase(), uri: request[2], headers, body };
  }
  throw new SipParseError('malformed start line');
}

/** Serialises a message; Content-Length is always recomputed from the body. */
export function serializeSipMessage(message: SipMessage): Buffer {
  const start =
    message.kind === 'request'
      ? `${message.method} ${message.uri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${message.reason}`;
  const body = Buffer.from(message.body, 'utf8');
  const lines = [start];
  for (const [name, value] of message.headers) {
    if (name === 'Content-Length') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), body]);
}

/** `;key=value;flag` parameters, keys lower-cased; a flag has the value ''. */
export function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq === -1) params.set(p.toLowerCase(), '');
    else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return params;
}

function formatParams(params: ReadonlyMap<string, string>): string {
  let out = '';
  for (const [k, v] of params) out += v === '' ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** A From, To, Contact, Route or Refer-To value: `"Name" <uri>;params` or `uri;params`. */
export interface NameAddr {
  displayName?: string;
  uri: string;
  params: Map<string, string>;
}

export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  const lt = v.indexOf('<');
  if (lt !== -1) {
    const gt = v.indexOf('>', lt);
    if (gt === -1) throw new SipParseError('unterminated <uri>');
    const name = v.slice(0, lt).trim().replace(/^"(.*)"$/, '$1');
    const result: NameAddr = { uri: v.slice(lt + 1, gt), params: parseParams(v.slice(gt + 1)) };
    if (name) result.displayName = name;
    return result;
  }
  // Without angle brackets, parameters after the URI belong to the header (§20.10).
  const semi = v.indexOf(';');
  return semi === -1 ? { uri: v, params: new Map() } : { uri: v.slice(0, semi), params: parseParams(v.slice(semi)) };
}

export function formatNameAddr(addr: NameAddr): string {
  const name = addr.displayName ? `"${addr.displayName.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${name}<${addr.uri}>${formatParams(addr.params)}`;
}

/** The tag parameter of a From or To header. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseNameAddr(value).params.get('tag') || undefined;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string>;
}

export function parseVia(value: string): Via {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^;\s]+)\s*(.*)$/i.exec(value.trim());
  if (!m?.[1] || !m[2]) throw new SipParseError('malformed Via');
  const hostPort = m[2];
  let host = hostPort;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (bracket?.[1]) {
    host = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon !== -1) {
      host = hostPort.slice(0, colon);
      port = Number(hostPort.slice(colon + 1));
    }
  }
  const via: Via = { transport: m[1].toUpperCase(), host, params: parseParams(m[3] ?? '') };
  if (port !== undefined) via.port = port;
  return via;
}

export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `SIP/2.0/${via.transport} ${via.host}${port}${formatParams(via.params)}`;
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(value: string | undefined): CSeq {
  const m = /^(\d+)\s+([A-Za-z]+)$/.exec((value ?? '').trim());
  if (!m?.[1] || !m[2]) throw new SipParseError('malformed CSeq');
  return { seq: Number(m[1]), method: m[2].toUpperCase() };
}

/** Parts of a `sip:` URI the gateway routes by. */
export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  host: string;
  port?: number;
  params: Map<string, string>;
}

export function parseSipUri(uri: string): SipUri {
  const m = /^(sips?):(?:([^@]+)@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?([^?]*)/i.exec(uri.trim());
  if (!m?.[1] || !m[3]) throw new SipParseError('malformed SIP URI');
  const parsed: SipUri = {
    scheme: m[1].toLowerCase() as 'sip' | 'sips',
    host: m[3].replace(/^\[|\]$/g, ''),
    params: parseParams(m[5] ?? ''),
  };
  if (m[2]) parsed.user = m[2];
  if (m[4]) parsed.port = Number(m[4]);
  return parsed;
}

/** Standard reason phrases for the responses the gateway sends. */
export const reasonPhrases: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  603: 'Decline',
};

/**
 * Builds a response to a request (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq are
 * copied; a To tag is added when given and the request's To has none.
 */
export function createResponse(
  request: SipRequest,
  status: number,
  opts: { reason?: string; toTag?: string; headers?: Iterable<readonly [string, string]>; body?: string } = {},
): SipResponse {
  const headers = new SipHeaders();
  for (const via of request.headers.getAll('Via')) headers.append('Via', via);
  const from = request.headers.get('From');
  if (from) headers.append('From', from);
  let to = request.headers.get('To') ?? '';
  if (opts.toTag && status > 100 && !tagOf(to)) to = `${to};tag=${opts.toTag}`;
  headers.append('To', to);
  headers.append('Call-ID', request.headers.get('Call-ID') ?? '');
  headers.append('CSeq', request.headers.get('CSeq') ?? '');
  if (opts.headers) for (const [name, value] of opts.headers) headers.append(name, value);
  return {
    kind: 'response',
    status,
    reason: opts.reason ?? reasonPhrases[status] ?? 'Unknown',
    headers,
    body: opts.body ?? '',
  };
}

/**
 * A SIP dialog (RFC 3261 §12): the peer-to-peer relationship an answered INVITE creates.
 * It numbers our in-dialog requests, knows where to send them (remote target and route
 * set) and identifies requests the far end sends us.
 */
import {
  SipHeaders,
  formatNameAddr,
  parseNameAddr,
  parseSipUri,
  tagOf,
  type SipRequest,
  type SipResponse,
} from './sip-message.js';
import type { Destination } from './transactions.js';

export const DEFAULT_SIP_PORT = 5060;

/** Key under which the user agent routes in-dialog requests. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** Where a `sip:` URI says to send UDP datagrams. */
export function destinationOf(uri: string): Destination {
  const u = parseSipUri(uri);
  return { host: u.params.get('maddr') ?? u.host, port: u.port ?? DEFAULT_SIP_PORT };
}

export class Dialog {
  private localSeq: number;
  remoteSeq: number | undefined;

  private constructor(
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** Our From header (with tag) as it appears in our requests. */
    readonly localHeader: string,
    /** The far end's header (with tag) as it appears in our To. */
    readonly remoteHeader: string,
    /** Contact URI of the far end: the Request-URI of in-dialog requests. */
    public remoteTarget: string,
    /** Route set, in the order our requests carry it. */
    readonly routeSet: readonly string[],
    /** Our Contact header value. */
    readonly localContact: string,
    localSeq: number,
  ) {
    this.localSeq = localSeq;
  }

  /** The dialog a 2xx to our INVITE creates (UAC side, §12.1.2). */
  static fromUacResponse(invite: SipRequest, response: SipResponse): Dialog {
    const remoteHeader = response.headers.get('To') ?? '';
    const remoteTag = tagOf(remoteHeader) ?? '';
    const localHeader = invite.headers.get('From') ?? '';
    const contact = response.headers.get('Contact');
    // §12.1.2: the UAC's route set is the Record-Route list in reverse order.
    const routeSet = response.headers.getAll('Record-Route').reverse();
    const seq = Number((invite.headers.get('CSeq') ?? '1').split(/\s+/)[0]);
    return new Dialog(
      invite.headers.get('Call-ID') ?? '',
      tagOf(localHeader) ?? '',
      remoteTag,
      localHeader,
      remoteHeader,
      contact ? parseNameAddr(contact).uri : invite.uri,
      routeSet,
      invite.headers.get('Contact') ?? '',
      seq,
    );
  }

  /** The dialog our 2xx to an incoming INVITE creates (UAS side, §12.1.1). */
  static fromUasRequest(invite: SipRequest, localTag: string, localContact: string): Dialog {
    const remoteHeader = invite.headers.get('From') ?? '';
    const to = invite.headers.get('To') ?? '';
    const contact = invite.headers.get('Contact');
    const dialog = new Dialog(
      invite.headers.get('Call-ID') ?? '',
      localTag,
      tagOf(remoteHeader) ?? '',
      tagOf(to) ? to : `${to};tag=${localTag}`,
      remoteHeader,
      contact ? parseNameAddr(contact).uri : invite.uri,
      // §12.1.1: the UAS's route set is the Record-Route list in order.
      invite.headers.getAll('Record-Route'),
      localContact,
      // Our own requests in this dialog start from a fresh sequence.
      Math.floor(Math.random() * 10_000),
    );
    // §12.1.1: the remote sequence starts at the INVITE's; the caller's BYE comes after it.
    const seq = Number((invite.headers.get('CSeq') ?? '').split(/\s+/)[0]);
    if (Number.isFinite(seq)) dialog.remoteSeq = seq;
    return dialog;
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /** Next hop for in-dialog requests: the first loose route, else the remote target. */
  get destination(): Destination {
    const first = this.routeSet[0];
    return destinationOf(first ? parseNameAddr(first).uri : this.remoteTarget);
  }

  /**
   * A new in-dialog request (BYE, REFER, re-INVITE...). The user agent adds the Via.
   * `cseq` reuses a number (the ACK for a 2xx carries the INVITE's).
   */
  createRequest(method: string, opts: { headers?: Iterable<readonly [string, string]>; body?: string; cseq?: number } = {}): SipRequest {
    const seq = opts.cseq ?? ++this.localSeq;
    const headers = new SipHeaders();
    for (const route of this.routeSet) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', this.localHeader);
    headers.append('To', this.remoteHeader);
    headers.append('Call-ID', this.callId);
    headers.append('CSeq', `${seq} ${method}`);
    if (method !== 'ACK' && method !== 'BYE' && method !== 'CANCEL') headers.append('Contact', this.localContact);
    if (opts.headers) for (const [name, value] of opts.headers) headers.append(name, value);
    return { kind: 'request', method, uri: this.remoteTarget, headers, body: opts.body ?? '' };
  }

  /**
   * Checks an incoming in-dialog request's CSeq (§12.2.2): lower than the last one means
   * out of order, answered with 500.
   */
  acceptRemoteSeq(request: SipRequest): boolean {
    const seq = Number((request.headers.get('CSeq') ?? '').split(/\s+/)[0]);
    if (!Number.isFinite(seq)) return false;
    if (request.method === 'ACK' || request.method === 'CANCEL') return true;
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }
}

/** `"Name" <uri>;tag=...` for our From. */
export function localIdentity(uri: string, tag: string, displayName?: string): string {
  const addr = { uri, params: new Map([['tag', tag]]) } as Parameters<typeof formatNameAddr>[0];
  if (displayName) addr.displayName = displayName;
  return formatNameAddr(addr);
}

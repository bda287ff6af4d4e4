/**
 * The gateway's SIP user agent: one UDP socket, the transaction layer and request routing.
 *
 * Incoming requests are routed in this order: retransmissions to their server
 * transaction; CANCEL to the INVITE transaction it cancels (§9.2); requests with a To tag
 * to the dialog that owns them (or 481); a new INVITE to the inbound-call handler (503
 * without one, so a carrier fails over); OPTIONS (carrier keep-alives) answered here;
 * anything else 481.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { dialogKey } from './dialog.js';
import {
  createResponse,
  formatVia,
  parseCSeq,
  parseSipMessage,
  parseVia,
  serializeSipMessage,
  supportedMethods,
  tagOf,
  type SipRequest,
  type SipResponse,
} from './sip-message.js';
import {
  ClientTransaction,
  ServerTransaction,
  defaultSipTimers,
  type ClientTransactionCallbacks,
  type Destination,
  type SipTimers,
} from './transactions.js';

/** RFC 3261 §8.1.1.7: branches start with this cookie. */
const BRANCH_COOKIE = 'z9hG4bK';
export const ALLOWED_METHODS = supportedMethods.join(', ');
export const USER_AGENT = 'kickcall-sip-gateway';

/** Receives in-dialog requests routed by the user agent. */
export interface DialogHandler {
  onRequest(request: SipRequest, transaction: ServerTransaction): void;
}

/** Receives new INVITEs (inbound calls); 100 Trying has already been sent. */
export type InviteHandler = (request: SipRequest, transaction: ServerTransaction) => void;

export interface UserAgentOptions {
  /** Address to bind and to advertise in Via and Contact. */
  host: string;
  port: number;
  logger: Logger;
  timers?: Partial<SipTimers>;
}

export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

export class UserAgent {
  readonly timers: SipTimers;
  private readonly socket: dgram.Socket;
  private readonly clientTransactions = new Map<string, ClientTransaction>();
  private readonly serverTransactions = new Map<string, ServerTransaction>();
  private readonly dialogs = new Map<string, DialogHandler>();
  private inviteHandler: InviteHandler | undefined;
  private closed = false;

  private constructor(
    readonly host: string,
    readonly port: number,
    socket: dgram.Socket,
    private readonly log: Logger,
    timers: SipTimers,
  ) {
    this.socket = socket;
    this.timers = timers;
    socket.on('message', (data, rinfo) => this.onDatagram(data, { host: rinfo.address, port: rinfo.port }));
    // A UDP socket reports ICMP errors here; they must not crash the process.
    socket.on('error', (err) => this.log.warn({ err }, 'sip socket error'));
  }

  /** Binds the SIP socket. Rejects when the port is taken. */
  static async start(opts: UserAgentOptions): Promise<UserAgent> {
    const type = opts.host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const port = socket.address().port;
    return new UserAgent(opts.host, port, socket, opts.logger, { ...defaultSipTimers, ...opts.timers });
  }

  /** `sip:` URI for our Contact. */
  contactUri(user = 'kickcall'): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `sip:${user}@${host}:${this.port};transport=udp`;
  }

  newBranch(): string {
    return BRANCH_COOKIE + randomToken(10);
  }

  newCallId(): string {
    return `${randomToken(12)}@${this.host}`;
  }

  setInviteHandler(handler: InviteHandler | undefined): void {
    this.inviteHandler = handler;
  }

  registerDialog(key: string, handler: DialogHandler): void {
    this.dialogs.set(key, handler);
  }

  unregisterDialog(key: string): void {
    this.dialogs.delete(key);
  }

  /**
   * Sends a request in a new client transaction. A Via with a fresh branch is added unless
   * the request already has one (CANCEL reuses its INVITE's).
   */
  request(request: SipRequest, to: Destination, callbacks: ClientTransactionCallbacks = {}): ClientTransaction {
    if (this.closed) throw new Error('user agent closed');
    if (!request.headers.has('Via')) request.headers.prepend('Via', this.via(this.newBranch()));
    if (!request.headers.has('User-Agent')) request.headers.append('User-Agent', USER_AGENT);
    const key = this.clientKey(request);
    const tx = new ClientTransaction(request, to, this.send, this.timers, callbacks, () => {
      if (this.clientTransactions.get(key) === tx) this.clientTransactions.delete(key);
    });
    this.clientTransactions.set(key, tx);
    tx.start();
    return tx;
  }

  /** Sends a response outside any transaction: a UAS core retransmitting its 2xx (§13.3.1.4). */
  sendResponse(response: SipResponse, to: Destination): void {
    if (!this.closed) this.send(response, to);
  }

  /** Sends a request outside any transaction: the ACK for a 2xx (§13.2.2.4). */
  sendStateless(request: SipRequest, to: Destination): void {
    if (!request.headers.has('Via')) request.headers.prepend('Via', this.via(this.newBranch()));
    this.send(request, to);
  }

  /** CANCEL for an INVITE transaction (§9.1): same branch, Request-URI, Call-ID, From, To, CSeq number. */
  buildCancel(invite: SipRequest): SipRequest {
    const cancel: SipRequest = { kind: 'request', method: 'CANCEL', uri: invite.uri, headers: invite.headers.clone(), body: '' };
    const h = cancel.headers;
    const topVia = invite.headers.get('Via');
    h.delete('Via');
    if (topVia) h.append('Via', topVia);
    h.set('CSeq', `${parseCSeq(invite.headers.get('CSeq')).seq} CANCEL`);
    for (const name of ['Content-Type', 'Contact', 'Allow', 'Supported', 'Authorization', 'Proxy-Authorization']) h.delete(name);
    return cancel;
  }

  via(branch: string): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return formatVia({ transport: 'UDP', host, port: this.port, params: new Map([['branch', branch], ['rport', '']]) });
  }

  /** Aborts every pending transaction and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const tx of this.clientTransactions.values()) tx.abort();
    for (const tx of this.serverTransactions.values()) tx.terminate();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private readonly send = (message: SipRequest | SipResponse, to: Destination): void => {
    if (this.closed) throw new Error('user agent closed');
    this.socket.send(serializeSipMessage(message), to.port, to.host, (err) => {
      if (err) this.log.warn({ err }, 'sip send failed');
    });
  };

  private clientKey(request: SipRequest): string {
    const branch = parseVia(request.headers.get('Via') ?? '').params.get('branch') ?? '';
    return `${branch}\n${request.method}`;
  }

  private onDatagram(data: Buffer, source: Destination): void {
    // RFC 5626 keep-alives: CRLFs only.
    if (data.toString('latin1').trim() === '') return;
    let message;
    try {
      message = parseSipMessage(data);
    } catch (err) {
      this.log.debug({ err, source: `${source.host}:${source.port}` }, 'unparseable sip datagram dropped');
      return;
    }
    try {
      if (message.kind === 'response') this.onResponse(message);
      else this.onRequest(message, source);
    } catch (err) {
      this.log.warn({ err }, 'sip message handling failed');
    }
  }

  private onResponse(response: SipResponse): void {
    const via = response.headers.get('Via');
    if (!via) return;
    const branch = parseVia(via).params.get('branch') ?? '';
    const method = parseCSeq(response.headers.get('CSeq')).method;
    const tx = this.clientTransactions.get(`${branch}\n${method}`);
    if (!tx) {
      this.log.debug({ status: response.status, method }, 'sip response without transaction dropped');
      return;
    }
    tx.receive(response);
  }

  private onRequest(request: SipRequest, source: Destination): void {
    const viaValue = request.headers.get('Via');
    if (!viaValue) return;
    const branch = parseVia(viaValue).params.get('branch') ?? '';
    // ACK for a non-2xx matches the INVITE's server transaction (§17.2.3).
    const method = request.method === 'ACK' ? 'INVITE' : request.method;
    const key = `${branch}\n${method}`;
    const existing = this.serverTransactions.get(key);
    const toTag = tagOf(request.headers.get('To'));
    const callId = request.headers.get('Call-ID') ?? '';
    const fromTag = tagOf(request.headers.get('From')) ?? '';

    if (existing) {
      if (request.method !== 'ACK') {
        existing.onRetransmission();
        return;
      }
      // An ACK for a 2xx should have its own branch, but some peers reuse the INVITE's:
      // only an ACK for a non-2xx belongs to the transaction.
      const status = existing.finalStatus;
      if (status !== undefined && status >= 300) {
        existing.onAck();
        return;
      }
      if (status === undefined) return;
    }

    if (request.method === 'ACK') {
      // ACK for a 2xx: no transaction, straight to the dialog.
      if (toTag) {
        const dialog = this.dialogs.get(dialogKey(callId, toTag, fromTag));
        dialog?.onRequest(request, this.detachedTransaction(request, source));
      }
      return;
    }

    const tx = new ServerTransaction(request, source, this.send, this.timers, () => {
      if (this.serverTransactions.get(key) === tx) this.serverTransactions.delete(key);
    });
    this.serverTransactions.set(key, tx);

    if (!(supportedMethods as readonly string[]).includes(request.method)) {
      tx.respond(createResponse(request, 501, { headers: [['Allow', ALLOWED_METHODS]] }));
      return;
    }
    if (request.method === 'CANCEL') {
      // §9.2: a CANCEL shares its INVITE's branch. 200 for the CANCEL itself, whatever
      // then happens to the INVITE (a 487, or nothing if it was already answered).
      const invite = this.serverTransactions.get(`${branch}\nINVITE`);
      if (!invite) {
        tx.respond(createResponse(request, 481));
        return;
      }
      tx.respond(createResponse(request, 200));
      invite.cancel();
      return;
    }
    if (toTag) {
      const dialog = this.dialogs.get(dialogKey(callId, toTag, fromTag));
      if (dialog) dialog.onRequest(request, tx);
      else tx.respond(createResponse(request, 481));
      return;
    }
    switch (request.method) {
      case 'INVITE':
        tx.respond(createResponse(request, 100));
        if (this.inviteHandler && !this.closed) this.inviteHandler(request, tx);
        else tx.respond(createResponse(request, 503, { toTag: randomToken(), headers: [['Retry-After', '60']] }));
        return;
      case 'OPTIONS':
        tx.respond(
          createResponse(request, 200, {
            toTag: randomToken(),
            headers: [
              ['Allow', ALLOWED_METHODS],
              ['Accept', 'application/sdp'],
            ],
          }),
        );
        return;
      default:
        // An out-of-dialog BYE, REFER or NOTIFY.
        tx.respond(createResponse(request, 481));
    }
  }

  /** A transaction that is not remembered: for ACKs, which get no response. */
  private detachedTransaction(request: SipRequest, source: Destination): ServerTransaction {
    return new ServerTransaction(request, source, this.send, this.timers, () => undefined);
  }
}

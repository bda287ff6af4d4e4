/**
 * The SIP side of an outbound call (UAC): INVITE with an SDP offer, provisional responses,
 * 200 → ACK, digest authentication, CANCEL on ringing timeout, then the dialog: BYE both
 * ways, REFER for cold transfer, in-dialog NOTIFY, OPTIONS and re-INVITE.
 *
 * It knows nothing about LiveKit: the bridged call listens to its events.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { authorizationHeader, parseDigestChallenge, type DigestCredentials } from './digest.js';
import { Dialog, destinationOf, localIdentity } from './dialog.js';
import { SipCallError, SipNoAnswerError, SipTransferError } from './errors.js';
import { buildSdp, negotiate, parseSdp, type NegotiatedMedia } from './sdp.js';
import { SipHeaders, createResponse, formatNameAddr, parseCSeq, type SipRequest, type SipResponse } from './sip-message.js';
import type { ClientTransaction, ServerTransaction } from './transactions.js';
import { ALLOWED_METHODS, randomToken, type DialogHandler, type UserAgent } from './user-agent.js';

/** How long to wait for the final response after CANCEL before reporting no answer anyway. */
const CANCEL_GRACE_MS = 4000;
/** How long a transfer may take from REFER to the final NOTIFY. */
export const TRANSFER_TIMEOUT_MS = 60_000;

export type OutboundCallState = 'idle' | 'dialing' | 'ringing' | 'active' | 'ended';

export type EndReason =
  | 'local-hangup'
  | 'remote-hangup'
  | 'max-duration'
  | 'transferred'
  | 'failed'
  | 'canceled'
  | 'shutdown';

export interface OutboundCallOptions {
  ua: UserAgent;
  logger: Logger;
  /** Trunk host[:port] (default port 5060). */
  trunkAddress: string;
  /** Caller ID (E.164 or any user part). */
  fromNumber: string;
  /** Callee (E.164 or any user part). */
  toNumber: string;
  /** Optional display name on From. */
  fromDisplayName?: string;
  credentials?: DigestCredentials;
  /** Local RTP address and port offered in SDP. */
  rtpAddress: string;
  rtpPort: number;
  /** How long to let it ring before CANCEL. */
  ringingTimeoutMs: number;
  /** Hang up this long after answer; unlimited when absent. */
  maxCallDurationMs?: number;
  /** Extra headers on the INVITE (X-... headers). */
  headers?: Record<string, string>;
}

interface OutboundCallEvents {
  ringing: [];
  answered: [media: NegotiatedMedia];
  /** The far end changed its media address (re-INVITE). */
  mediaChanged: [media: NegotiatedMedia];
  ended: [reason: EndReason];
}

export class OutboundCall extends EventEmitter<OutboundCallEvents> implements DialogHandler {
  /** The SIP Call-ID header value: the carrier's name for this call. */
  readonly callId: string;
  state: OutboundCallState = 'idle';
  private readonly localTag = randomToken();
  private readonly sdpSessionId = String(Date.now());
  private sdpVersion = 1;
  private cseq = 1;
  private invite: SipRequest | undefined;
  private inviteTx: ClientTransaction | undefined;
  private dialog: Dialog | undefined;
  /** Why we asked to cancel the INVITE, if we did. */
  private cancelReason: 'ringing-timeout' | 'hangup' | undefined;
  private ringingTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private transferWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: OutboundCallOptions) {
    super();
    this.callId = opts.ua.newCallId();
    this.log = opts.logger;
  }

  /**
   * Dials and resolves once the call is answered (200 OK, ACK sent). Rejects with
   * SipCallError (final non-2xx, timeout as 408, transport failure as 503) or
   * SipNoAnswerError (ringing timeout, CANCEL sent).
   */
  async dial(): Promise<NegotiatedMedia> {
    if (this.state !== 'idle') throw new Error('dial() called twice');
    this.state = 'dialing';
    this.ringingTimer = setTimeout(() => this.cancelForNoAnswer(), this.opts.ringingTimeoutMs);
    try {
      let response = await this.sendInvite();
      if ((response.status === 401 || response.status === 407) && this.opts.credentials && !this.cancelReason) {
        response = await this.sendInvite(response);
      }
      return await this.onFinal(response);
    } catch (err) {
      this.finish('failed');
      throw err;
    } finally {
      clearTimeout(this.ringingTimer);
    }
  }

  /** Sends BYE (answered) or CANCEL (still ringing); resolves when done. */
  async hangup(reason: EndReason = 'local-hangup'): Promise<void> {
    if (this.state === 'dialing' || this.state === 'ringing') {
      this.requestCancel('hangup');
      return;
    }
    if (this.state !== 'active' || !this.dialog) return;
    const dialog = this.dialog;
    this.finish(reason);
    const bye = dialog.createRequest('BYE');
    const response = await this.opts.ua.request(bye, dialog.destination).final;
    this.log.info({ status: response.status }, 'bye answered');
  }

  /**
   * Cold transfer (RFC 3515): REFER in the dialog, then NOTIFYs carrying the transfer
   * target's progress as message/sipfrag. Resolves on a 2xx sipfrag, then hangs up.
   */
  async transfer(transferTo: string): Promise<void> {
    if (this.state !== 'active' || !this.dialog) throw new SipTransferError('The call is not active');
    if (this.transferWaiter) throw new SipTransferError('A transfer is already under way');
    const dialog = this.dialog;
    const done = new Promise<void>((resolve, reject) => (this.transferWaiter = { resolve, reject }));
    // A rejection is always consumed below; this keeps an early one from being unhandled.
    done.catch(() => undefined);
    const timer = setTimeout(
      () => this.settleTransfer(new SipTransferError(`No final transfer status within ${TRANSFER_TIMEOUT_MS} ms`)),
      TRANSFER_TIMEOUT_MS,
    );
    try {
      const refer = dialog.createRequest('REFER', {
        headers: [
          ['Refer-To', formatNameAddr({ uri: transferTo, params: new Map() })],
          ['Referred-By', formatNameAddr({ uri: parseLocalUri(dialog.localHeader), params: new Map() })],
        ],
      });
      const response = await this.opts.ua.request(refer, dialog.destination).final;
      if (response.status >= 300) {
        this.settleTransfer(new SipTransferError('The far end rejected the transfer', response.status, response.reason));
      }
      await done;
    } finally {
      clearTimeout(timer);
      this.transferWaiter = undefined;
    }
    await this.hangup('transferred');
  }

  // --- DialogHandler: requests from the far end inside our dialog ---

  onRequest(request: SipRequest, tx: ServerTransaction): void {
    const dialog = this.dialog;
    if (!dialog) return;
    if (request.method === 'ACK') return; // ACK for our 200 to a re-INVITE
    if (!dialog.acceptRemoteSeq(request)) {
      tx.respond(createResponse(request, 500, { reason: 'Out of Order' }));
      return;
    }
    switch (request.method) {
      case 'BYE':
        tx.respond(createResponse(request, 200));
        this.log.info('far end hung up');
        this.finish('remote-hangup');
        return;
      case 'NOTIFY':
        tx.respond(createResponse(request, 200));
        this.onNotify(request);
        return;
      case 'OPTIONS':
        tx.respond(createResponse(request, 200, { headers: [['Allow', ALLOWED_METHODS]] }));
        return;
      case 'INVITE':
        this.onReInvite(request, tx, dialog);
        return;
      default:
        tx.respond(createResponse(request, 501, { headers: [['Allow', ALLOWED_METHODS]] }));
    }
  }

  // --- internals ---

  private get requestUri(): string {
    return `sip:${this.opts.toNumber}@${this.opts.trunkAddress}`;
  }

  private offer(): string {
    return buildSdp({
      address: this.opts.rtpAddress,
      port: this.opts.rtpPort,
      sessionId: this.sdpSessionId,
      sessionVersion: this.sdpVersion,
    });
  }

  private async sendInvite(challenge?: SipResponse): Promise<SipResponse> {
    const host = this.opts.trunkAddress.replace(/:\d+$/, '');
    const headers = new SipHeaders();
    headers.append('Max-Forwards', '70');
    headers.append('From', localIdentity(`sip:${this.opts.fromNumber}@${host}`, this.localTag, this.opts.fromDisplayName));
    headers.append('To', formatNameAddr({ uri: `sip:${this.opts.toNumber}@${host}`, params: new Map() }));
    headers.append('Call-ID', this.callId);
    headers.append('CSeq', `${this.cseq} INVITE`);
    headers.append('Contact', `<${this.opts.ua.contactUri()}>`);
    headers.append('Allow', ALLOWED_METHODS);
    headers.append('Content-Type', 'application/sdp');
    for (const [name, value] of Object.entries(this.opts.headers ?? {})) headers.append(name, value);
    if (challenge && this.opts.credentials) {
      const isProxy = challenge.status === 407;
      const parsed = parseDigestChallenge(challenge.headers.get(isProxy ? 'Proxy-Authenticate' : 'WWW-Authenticate') ?? '');
      if (!parsed) return challenge;
      headers.append(isProxy ? 'Proxy-Authorization' : 'Authorization', authorizationHeader(parsed, this.opts.credentials, 'INVITE', this.requestUri));
    }
    const invite: SipRequest = { kind: 'request', method: 'INVITE', uri: this.requestUri, headers, body: this.offer() };
    this.cseq++;
    this.invite = invite;
    const tx = this.opts.ua.request(invite, destinationOf(this.requestUri), {
      onProvisional: (r) => this.onProvisional(r),
      onRetransmitted2xx: (r) => this.ackRetransmitted2xx(r),
    });
    this.inviteTx = tx;
    this.log.info({ sipCallIdFull: this.callId, authenticated: Boolean(challenge) }, 'invite sent');
    return tx.final;
  }

  private onProvisional(response: SipResponse): void {
    if (this.cancelReason) void this.sendCancel();
    if ((response.status === 180 || response.status === 183) && this.state === 'dialing') {
      this.state = 'ringing';
      this.log.info({ status: response.status }, 'far end ringing');
      this.emit('ringing');
    }
  }

  private async onFinal(response: SipResponse): Promise<NegotiatedMedia> {
    const invite = this.invite;
    if (!invite) throw new Error('no INVITE');
    if (response.status >= 300 || response.status < 200) {
      this.log.info({ status: response.status }, 'invite failed');
      // After our CANCEL the final response is normally 487 (or our own abort's 503).
      if (this.cancelReason === 'ringing-timeout') throw new SipNoAnswerError(this.opts.ringingTimeoutMs);
      if (this.cancelReason === 'hangup') throw new SipCallError(487, 'Request Terminated');
      throw new SipCallError(response.status, response.reason);
    }
    const dialog = Dialog.fromUacResponse(invite, response);
    this.dialog = dialog;
    this.sendAck(dialog, response);
    this.opts.ua.registerDialog(dialog.key, this);
    if (this.cancelReason) {
      // The 200 crossed our CANCEL: the dialog exists, so end it with BYE.
      const reason = this.cancelReason;
      this.state = 'active';
      await this.hangup('canceled');
      if (reason === 'ringing-timeout') throw new SipNoAnswerError(this.opts.ringingTimeoutMs);
      throw new SipCallError(487, 'Request Terminated');
    }
    let media: NegotiatedMedia;
    try {
      media = negotiate(parseSdp(response.body));
    } catch (err) {
      this.state = 'active';
      await this.hangup('failed');
      throw new SipCallError(488, 'Not Acceptable Here', { cause: err });
    }
    this.state = 'active';
    this.log.info({ sipCallIdFull: this.callId }, 'call answered');
    if (this.opts.maxCallDurationMs !== undefined) {
      this.durationTimer = setTimeout(() => {
        this.log.info({ maxCallDurationMs: this.opts.maxCallDurationMs }, 'max call duration reached');
        void this.hangup('max-duration');
      }, this.opts.maxCallDurationMs);
    }
    this.emit('answered', media);
    return media;
  }

  /** ACK for a 2xx is end-to-end: built by the dialog, sent outside the transaction (§13.2.2.4). */
  private sendAck(dialog: Dialog, response: SipResponse): void {
    const seq = parseCSeq(response.headers.get('CSeq')).seq;
    this.opts.ua.sendStateless(dialog.createRequest('ACK', { cseq: seq }), dialog.destination);
  }

  private ackRetransmitted2xx(response: SipResponse): void {
    if (this.dialog) this.sendAck(this.dialog, response);
  }

  private cancelForNoAnswer(): void {
    if (this.state !== 'dialing' && this.state !== 'ringing') return;
    this.log.info({ ringingTimeoutMs: this.opts.ringingTimeoutMs }, 'ringing timeout, canceling');
    this.requestCancel('ringing-timeout');
  }

  private requestCancel(reason: 'ringing-timeout' | 'hangup'): void {
    if (this.cancelReason) return;
    this.cancelReason = reason;
    void this.sendCancel();
    // If the far end never answers the CANCEL, the INVITE transaction's own timeout would
    // take 32 s; report no answer after a short grace instead. A late 200 is still ACKed
    // and hung up by onFinal.
    const tx = this.inviteTx;
    setTimeout(() => {
      if (tx && !tx.isFinal) tx.abort();
    }, CANCEL_GRACE_MS).unref();
  }

  private cancelSent = false;
  private async sendCancel(): Promise<void> {
    const tx = this.inviteTx;
    const invite = this.invite;
    if (!tx || !invite || tx.isFinal || this.cancelSent) return;
    // §9.1: CANCEL only after a provisional response; otherwise wait for one.
    if (!tx.hasProvisional) return;
    this.cancelSent = true;
    const cancel = this.opts.ua.buildCancel(invite);
    const response = await this.opts.ua.request(cancel, tx.destination).final;
    this.log.info({ status: response.status }, 'cancel answered');
  }

  private onNotify(request: SipRequest): void {
    const event = (request.headers.get('Event') ?? '').split(';')[0]?.trim().toLowerCase();
    if (event !== 'refer' || !this.transferWaiter) return;
    const status = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/m.exec(request.body);
    if (!status?.[1]) return;
    const code = Number(status[1]);
    const reason = (status[2] ?? '').trim();
    this.log.info({ status: code }, 'transfer progress');
    if (code < 200) return;
    if (code < 300) this.settleTransfer();
    else this.settleTransfer(new SipTransferError('The transfer target did not answer', code, reason));
  }

  private settleTransfer(error?: Error): void {
    const waiter = this.transferWaiter;
    if (!waiter) return;
    this.transferWaiter = undefined;
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private onReInvite(request: SipRequest, tx: ServerTransaction, dialog: Dialog): void {
    // Session refresh or a media change: accept PCMU again and answer with our description.
    try {
      if (request.body) {
        const media = negotiate(parseSdp(request.body));
        this.emit('mediaChanged', media);
      }
    } catch {
      tx.respond(createResponse(request, 488));
      return;
    }
    const contact = request.headers.get('Contact');
    if (contact) dialog.remoteTarget = contact.replace(/^.*<([^>]+)>.*$/, '$1');
    this.sdpVersion++;
    tx.respond(
      createResponse(request, 200, {
        headers: [
          ['Contact', `<${this.opts.ua.contactUri()}>`],
          ['Content-Type', 'application/sdp'],
        ],
        body: this.offer(),
      }),
    );
  }

  private finish(reason: EndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.ringingTimer);
    clearTimeout(this.durationTimer);
    if (this.dialog) this.opts.ua.unregisterDialog(this.dialog.key);
    this.settleTransfer(new SipTransferError('The call ended before the transfer completed'));
    this.emit('ended', reason);
  }
}

function parseLocalUri(header: string): string {
  return /<([^>]+)>/.exec(header)?.[1] ?? header;
}

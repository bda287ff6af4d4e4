/**
 * The SIP side of an outbound call (UAC): INVITE with an SDP offer, provisional responses,
 * 200 → ACK, digest authentication, CANCEL on ringing timeout. Once answered, the dialog
 * behaves as every call's does (SipCall: BYE, REFER, re-INVITE).
 *
 * It knows nothing about LiveKit: the bridged call listens to its events.
 */
import { authorizationHeader, parseDigestChallenge, type DigestCredentials } from './digest.js';
import { Dialog, destinationOf, localIdentity } from './dialog.js';
import { SipCallError, SipNoAnswerError } from './errors.js';
import { negotiate, parseSdp, type NegotiatedMedia } from './sdp.js';
import { SipCall, type EndReason, type SipCallOptions } from './sip-call.js';
import { SipHeaders, formatNameAddr, parseCSeq, type SipRequest, type SipResponse } from './sip-message.js';
import type { ClientTransaction } from './transactions.js';
import { ALLOWED_METHODS, randomToken } from './user-agent.js';

export { TRANSFER_TIMEOUT_MS, type EndReason } from './sip-call.js';

/** How long to wait for the final response after CANCEL before reporting no answer anyway. */
const CANCEL_GRACE_MS = 4000;

export interface OutboundCallOptions extends SipCallOptions {
  /** Trunk host[:port] (default port 5060). */
  trunkAddress: string;
  /** Caller ID (E.164 or any user part). */
  fromNumber: string;
  /** Callee (E.164 or any user part). */
  toNumber: string;
  /** Optional display name on From. */
  fromDisplayName?: string;
  credentials?: DigestCredentials;
  /** How long to let it ring before CANCEL. */
  ringingTimeoutMs: number;
  /** Extra headers on the INVITE (X-... headers). */
  headers?: Record<string, string>;
}

export class OutboundCall extends SipCall {
  readonly callId: string;
  private readonly localTag = randomToken();
  private cseq = 1;
  private invite: SipRequest | undefined;
  private inviteTx: ClientTransaction | undefined;
  /** Why we asked to cancel the INVITE, if we did. */
  private cancelReason: 'ringing-timeout' | 'hangup' | undefined;
  private cancelSent = false;
  private ringingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: OutboundCallOptions) {
    super(opts);
    this.callId = opts.ua.newCallId();
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
    await this.sendBye(reason);
  }

  protected override onFinish(): void {
    clearTimeout(this.ringingTimer);
  }

  // --- internals ---

  private get requestUri(): string {
    return `sip:${this.opts.toNumber}@${this.opts.trunkAddress}`;
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
    const invite: SipRequest = { kind: 'request', method: 'INVITE', uri: this.requestUri, headers, body: this.localDescription() };
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
    this.log.info({ sipCallIdFull: this.callId }, 'call answered');
    this.becomeActive(media);
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
}

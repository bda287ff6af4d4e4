/**
 * What a SIP call does once its dialog exists, whichever side placed it: BYE both ways,
 * REFER for cold transfer (with the NOTIFYs that report its progress), in-dialog OPTIONS
 * and re-INVITE. The outbound call (UAC) and the inbound call (UAS) differ only in how the
 * dialog comes to be; both extend this class.
 *
 * It knows nothing about LiveKit: the bridged call listens to its events.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Dialog } from './dialog.js';
import { SipTransferError } from './errors.js';
import { buildSdp, negotiate, parseSdp, type NegotiatedMedia } from './sdp.js';
import { createResponse, formatNameAddr, parseNameAddr, type SipRequest } from './sip-message.js';
import type { ServerTransaction } from './transactions.js';
import { ALLOWED_METHODS, type DialogHandler, type UserAgent } from './user-agent.js';

/** How long a transfer may take from REFER to the final NOTIFY. */
export const TRANSFER_TIMEOUT_MS = 60_000;

export type SipCallState = 'idle' | 'dialing' | 'ringing' | 'active' | 'ended';

export type EndReason =
  | 'local-hangup'
  | 'remote-hangup'
  | 'max-duration'
  | 'transferred'
  | 'failed'
  | 'canceled'
  | 'shutdown';

export interface SipCallEvents {
  ringing: [];
  answered: [media: NegotiatedMedia];
  /** The far end changed its media address (re-INVITE). */
  mediaChanged: [media: NegotiatedMedia];
  ended: [reason: EndReason];
}

export interface SipCallOptions {
  ua: UserAgent;
  logger: Logger;
  /** Local RTP address and port in our session descriptions. */
  rtpAddress: string;
  rtpPort: number;
  /** Hang up this long after answer; unlimited when absent. */
  maxCallDurationMs?: number;
}

export abstract class SipCall extends EventEmitter<SipCallEvents> implements DialogHandler {
  /** The SIP Call-ID header value: the carrier's name for this call. */
  abstract readonly callId: string;
  state: SipCallState = 'idle';
  protected dialog: Dialog | undefined;
  /** Whether our descriptions list telephone-event (an answer follows the offer). */
  protected telephoneEvent: { payloadType?: number } | undefined = {};
  private readonly sdpSessionId = String(Date.now());
  private sdpVersion = 1;
  private durationTimer: NodeJS.Timeout | undefined;
  private transferWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  protected readonly log: Logger;

  constructor(private readonly base: SipCallOptions) {
    super();
    this.log = base.logger;
  }

  /** True once the call is over (a getter, so checks after an await see the latest state). */
  get hasEnded(): boolean {
    return this.state === 'ended';
  }

  /** Ends the call by whatever the state allows (BYE, CANCEL, a final error); resolves when done. */
  abstract hangup(reason?: EndReason): Promise<void>;

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
          ['Referred-By', formatNameAddr({ uri: parseNameAddr(dialog.localHeader).uri, params: new Map() })],
        ],
      });
      const response = await this.base.ua.request(refer, dialog.destination).final;
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
    if (request.method === 'ACK') {
      this.onAck(request);
      return;
    }
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

  // --- for subclasses ---

  /** An ACK in the dialog: for our 2xx to a (re-)INVITE. */
  protected onAck(_request: SipRequest): void {}

  /** Our session description: the offer (outbound) or the answer (inbound, re-INVITE). */
  protected localDescription(): string {
    const te = this.telephoneEvent;
    return buildSdp({
      address: this.base.rtpAddress,
      port: this.base.rtpPort,
      sessionId: this.sdpSessionId,
      sessionVersion: this.sdpVersion,
      telephoneEvent: te !== undefined,
      ...(te?.payloadType !== undefined ? { telephoneEventPayloadType: te.payloadType } : {}),
    });
  }

  /** The call is up: start the max-duration clock and tell the bridge. */
  protected becomeActive(media: NegotiatedMedia): void {
    this.state = 'active';
    if (this.base.maxCallDurationMs !== undefined) {
      this.durationTimer = setTimeout(() => {
        this.log.info({ maxCallDurationMs: this.base.maxCallDurationMs }, 'max call duration reached');
        void this.hangup('max-duration');
      }, this.base.maxCallDurationMs);
    }
    this.emit('answered', media);
  }

  /** BYE on an established dialog; ends the call first so nothing else is sent. */
  protected async sendBye(reason: EndReason): Promise<void> {
    const dialog = this.dialog;
    if (this.state !== 'active' || !dialog) return;
    this.finish(reason);
    const response = await this.base.ua.request(dialog.createRequest('BYE'), dialog.destination).final;
    this.log.info({ status: response.status }, 'bye answered');
  }

  protected finish(reason: EndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.durationTimer);
    if (this.dialog) this.base.ua.unregisterDialog(this.dialog.key);
    this.settleTransfer(new SipTransferError('The call ended before the transfer completed'));
    this.onFinish();
    this.emit('ended', reason);
  }

  /** Subclass timers to stop when the call ends. */
  protected onFinish(): void {}

  // --- internals ---

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
    if (contact) dialog.remoteTarget = parseNameAddr(contact).uri;
    this.sdpVersion++;
    tx.respond(
      createResponse(request, 200, {
        headers: [
          ['Contact', `<${this.base.ua.contactUri()}>`],
          ['Content-Type', 'application/sdp'],
        ],
        body: this.localDescription(),
      }),
    );
  }
}

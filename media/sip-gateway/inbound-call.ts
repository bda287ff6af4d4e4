/**
 * The SIP side of an inbound call (UAS): the caller's INVITE, already routed, is alerted
 * (180), answered with our SDP (200, retransmitted until the ACK, RFC 3261 §13.3.1.4) or
 * refused with a final error. A CANCEL before the answer ends it with 487. Once the ACK is
 * in, the dialog behaves as every call's does (SipCall: BYE, REFER, re-INVITE).
 *
 * It knows nothing about LiveKit: the bridged call listens to its events.
 */
import { Dialog } from './dialog.js';
import { SipCallError } from './errors.js';
import type { NegotiatedMedia } from './sdp.js';
import { SipCall, type EndReason, type SipCallOptions } from './sip-call.js';
import { createResponse, type SipRequest, type SipResponse } from './sip-message.js';
import type { ServerTransaction } from './transactions.js';
import { randomToken } from './user-agent.js';

export interface InboundCallOptions extends SipCallOptions {
  invite: SipRequest;
  /** The INVITE's server transaction: 100 Trying has gone out. */
  tx: ServerTransaction;
  /** What the caller's offer and our capabilities agree on (PCMU). */
  offer: NegotiatedMedia;
}

export class InboundCall extends SipCall {
  readonly callId: string;
  private readonly localTag = randomToken();
  private readonly invite: SipRequest;
  private readonly tx: ServerTransaction;
  /** Our 200 while it waits for the ACK, retransmitted meanwhile. */
  private okResponse: SipResponse | undefined;
  private okTimer: NodeJS.Timeout | undefined;
  private ackWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Settles when the ACK came in or never will: only then may we send BYE (§15). */
  private ackSettled: Promise<void> = Promise.resolve();

  constructor(private readonly opts: InboundCallOptions) {
    super(opts);
    this.invite = opts.invite;
    this.tx = opts.tx;
    this.callId = opts.invite.headers.get('Call-ID') ?? '';
    // An answer lists telephone-event only if the offer did, with the offer's number.
    const te = opts.offer.telephoneEventPayloadType;
    this.telephoneEvent = te === undefined ? undefined : { payloadType: te };
    this.state = 'ringing';
    opts.tx.setCancelHandler(() => this.onCancel());
  }

  /** 180 Ringing while the room is made ready. */
  ring(): void {
    if (this.state === 'ringing') this.tx.respond(createResponse(this.invite, 180, { toTag: this.localTag }));
  }

  /**
   * 200 OK with our SDP answer; resolves with the negotiated media once the ACK arrives.
   * Rejects with SipCallError 487 when the caller canceled first, 408 when no ACK came
   * (the call is then hung up with BYE).
   */
  answer(): Promise<NegotiatedMedia> {
    if (this.state !== 'ringing' || this.okResponse) return Promise.reject(new SipCallError(487, 'Request Terminated'));
    const contact = `<${this.opts.ua.contactUri()}>`;
    const dialog = Dialog.fromUasRequest(this.invite, this.localTag, contact);
    this.dialog = dialog;
    this.opts.ua.registerDialog(dialog.key, this);
    const ok = createResponse(this.invite, 200, {
      toTag: this.localTag,
      headers: [
        ['Contact', contact],
        ['Content-Type', 'application/sdp'],
      ],
      body: this.localDescription(),
    });
    this.okResponse = ok;
    const acked = new Promise<void>((resolve, reject) => (this.ackWaiter = { resolve, reject }));
    this.ackSettled = acked.catch(() => undefined);
    this.tx.respond(ok);
    this.retransmitOk(this.opts.ua.timers.t1Ms, 0);
    this.log.info('inbound call answered, waiting for ACK');
    return acked.then(() => this.opts.offer);
  }

  /** Refuses the call before the answer (a final error response). */
  reject(status: number, headers: [string, string][] = []): void {
    if (this.state !== 'ringing' || this.okResponse) return;
    this.tx.respond(createResponse(this.invite, status, { toTag: this.localTag, headers }));
    this.finish('failed');
  }

  /**
   * Before the answer: 480 (503 when the gateway shuts down). Once answered: BYE, after the
   * ACK if it is still due.
   */
  async hangup(reason: EndReason = 'local-hangup'): Promise<void> {
    if (this.state === 'ringing' && !this.okResponse) {
      const status = reason === 'shutdown' ? 503 : 480;
      this.tx.respond(createResponse(this.invite, status, { toTag: this.localTag, headers: status === 503 ? [['Retry-After', '30']] : [] }));
      this.finish(reason);
      return;
    }
    await this.ackSettled;
    await this.sendBye(reason);
  }

  protected override onAck(): void {
    if (!this.okResponse) return; // the ACK for a re-INVITE's 200
    this.stopRetransmitting();
    this.log.info('ack received, call active');
    const waiter = this.ackWaiter;
    this.ackWaiter = undefined;
    this.becomeActive(this.opts.offer);
    waiter?.resolve();
  }

  protected override onFinish(): void {
    this.stopRetransmitting();
    const waiter = this.ackWaiter;
    this.ackWaiter = undefined;
    waiter?.reject(new SipCallError(487, 'Request Terminated'));
  }

  private onCancel(): void {
    if (this.state !== 'ringing' || this.okResponse) return;
    this.log.info('caller canceled before the answer');
    this.tx.respond(createResponse(this.invite, 487, { toTag: this.localTag }));
    this.finish('canceled');
  }

  /** §13.3.1.4: the 2xx goes again at T1, doubling up to T2, until the ACK or 64·T1. */
  private retransmitOk(intervalMs: number, elapsedMs: number): void {
    const { t1Ms, t2Ms } = this.opts.ua.timers;
    this.okTimer = setTimeout(() => {
      const ok = this.okResponse;
      if (!ok) return;
      if (elapsedMs + intervalMs >= 64 * t1Ms) {
        this.onAckTimeout();
        return;
      }
      this.opts.ua.sendResponse(ok, this.tx.source);
      this.retransmitOk(Math.min(intervalMs * 2, t2Ms), elapsedMs + intervalMs);
    }, intervalMs);
  }

  private onAckTimeout(): void {
    this.log.warn('no ACK for our 200, hanging up');
    this.stopRetransmitting();
    const waiter = this.ackWaiter;
    this.ackWaiter = undefined;
    // §13.3.1.4: the dialog is confirmed anyway; it ends with BYE.
    this.state = 'active';
    void this.sendBye('failed').catch((err: unknown) => this.log.warn({ err }, 'bye failed'));
    waiter?.reject(new SipCallError(408, 'Request Timeout'));
  }

  private stopRetransmitting(): void {
    clearTimeout(this.okTimer);
    this.okResponse = undefined;
  }
}

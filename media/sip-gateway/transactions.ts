/**
 * SIP transactions over UDP (RFC 3261 §17): the client side retransmits requests until a
 * response arrives and gives up after 64·T1; the server side answers retransmitted requests
 * with its last response. The user agent owns the maps; these classes own the timers.
 */
import { randomBytes } from 'node:crypto';
import { createResponse, type SipRequest, type SipResponse } from './sip-message.js';

/** RFC 3261 timer values; small values make tests fast, defaults suit real carriers. */
export interface SipTimers {
  /** RTT estimate; first retransmission interval. Default 500. */
  t1Ms: number;
  /** Maximum retransmission interval for non-INVITE requests. Default 4000. */
  t2Ms: number;
  /** How long a message may stay in the network. Default 5000. */
  t4Ms: number;
}

export const defaultSipTimers: SipTimers = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };

export interface Destination {
  host: string;
  port: number;
}

/** How a transaction hands datagrams to the transport. */
export type SendFn = (message: SipRequest | SipResponse, to: Destination) => void;

/** Synthesised final response for a transaction timeout (§8.1.3.1: treat as 408). */
function timeoutResponse(request: SipRequest): SipResponse {
  return createResponse(request, 408, { reason: 'Request Timeout' });
}

/** Synthesised final response for a transport failure (§8.1.3.1: treat as 503). */
function transportErrorResponse(request: SipRequest): SipResponse {
  return createResponse(request, 503, { reason: 'Service Unavailable' });
}

export interface ClientTransactionCallbacks {
  /** 1xx responses, in arrival order (retransmissions included). */
  onProvisional?: (response: SipResponse) => void;
  /** 2xx retransmissions after the first (INVITE only): the dialog re-sends its ACK. */
  onRetransmitted2xx?: (response: SipResponse) => void;
}

/**
 * A client transaction (INVITE or non-INVITE). `final` resolves with the first final
 * response, or a synthesised 408/503 on timeout or transport failure; it never rejects.
 */
export class ClientTransaction {
  readonly final: Promise<SipResponse>;
  readonly isInvite: boolean;
  private resolveFinal!: (response: SipResponse) => void;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private state: 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated' = 'calling';
  private provisionalSeen = false;
  private lastFinal: SipResponse | undefined;
  private ack: SipRequest | undefined;
  private onProvisionalSeen: (() => void)[] = [];

  constructor(
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly send: SendFn,
    private readonly timers: SipTimers,
    private readonly callbacks: ClientTransactionCallbacks,
    /** Called once the transaction may be forgotten. */
    private readonly onTerminated: () => void,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.final = new Promise((resolve) => (this.resolveFinal = resolve));
  }

  get hasProvisional(): boolean {
    return this.provisionalSeen;
  }

  start(): void {
    if (!this.transmit(this.request)) return;
    this.scheduleRetransmit(this.timers.t1Ms);
    // Timer B (INVITE) or F (non-INVITE).
    this.timeoutTimer = setTimeout(() => this.fail(timeoutResponse(this.request)), 64 * this.timers.t1Ms);
  }

  /** Resolves once a provisional response has arrived (CANCEL may only be sent after one). */
  whenProvisional(): Promise<void> {
    if (this.provisionalSeen) return Promise.resolve();
    return new Promise((resolve) => this.onProvisionalSeen.push(resolve));
  }

  get isFinal(): boolean {
    return this.lastFinal !== undefined;
  }

  receive(response: SipResponse): void {
    if (response.status < 200) {
      if (this.state !== 'calling' && this.state !== 'proceeding') return;
      this.state = 'proceeding';
      if (!this.provisionalSeen) {
        this.provisionalSeen = true;
        for (const resolve of this.onProvisionalSeen.splice(0)) resolve();
      }
      // INVITE: a provisional response stops retransmissions (Timer A). Non-INVITE:
      // keep retransmitting, at T2 (§17.1.2.2).
      if (this.isInvite) this.clearRetransmit();
      else this.scheduleRetransmit(this.timers.t2Ms);
      this.callbacks.onProvisional?.(response);
      return;
    }
    if (this.lastFinal) {
      // A retransmitted final response.
      if (this.isInvite && response.status >= 300 && this.ack) this.transmit(this.ack);
      if (this.isInvite && response.status < 300) this.callbacks.onRetransmitted2xx?.(response);
      return;
    }
    this.lastFinal = response;
    this.clearRetransmit();
    clearTimeout(this.timeoutTimer);
    if (this.isInvite && response.status >= 300) {
      // The transaction itself ACKs non-2xx responses (§17.1.1.3), then lingers (Timer D)
      // to ACK retransmissions of the same response.
      this.ack = this.buildNon2xxAck(response);
      this.transmit(this.ack);
      this.state = 'completed';
      this.linger(Math.min(32_000, 64 * this.timers.t1Ms));
    } else if (this.isInvite) {
      // RFC 6026 "Accepted": keep matching 2xx retransmissions so the dialog can re-ACK.
      this.state = 'accepted';
      this.linger(64 * this.timers.t1Ms);
    } else {
      this.state = 'completed';
      this.linger(this.timers.t4Ms);
    }
    this.resolveFinal(response);
  }

  /** Stops the transaction without a response (gateway shutting down). */
  abort(): void {
    this.fail(transportErrorResponse(this.request));
  }

  private fail(response: SipResponse): void {
    if (this.lastFinal) return;
    this.lastFinal = response;
    this.clearRetransmit();
    clearTimeout(this.timeoutTimer);
    this.terminate();
    this.resolveFinal(response);
  }

  private transmit(message: SipRequest): boolean {
    try {
      this.send(message, this.destination);
      return true;
    } catch {
      this.fail(transportErrorResponse(this.request));
      return false;
    }
  }

  private scheduleRetransmit(intervalMs: number): void {
    this.clearRetransmit();
    this.retransmitTimer = setTimeout(() => {
      if (this.lastFinal) return;
      if (!this.transmit(this.request)) return;
      // INVITE doubles without cap (Timer A); non-INVITE doubles up to T2 (Timer E).
      const next = this.isInvite ? intervalMs * 2 : Math.min(intervalMs * 2, this.timers.t2Ms);
      this.scheduleRetransmit(this.state === 'proceeding' && !this.isInvite ? this.timers.t2Ms : next);
    }, intervalMs);
  }

  private clearRetransmit(): void {
    if (this.retransmitTimer) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  private linger(ms: number): void {
    this.lingerTimer = setTimeout(() => this.terminate(), ms);
  }

  private terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearRetransmit();
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.lingerTimer);
    this.onTerminated();
  }

  /** ACK for a non-2xx final response: same branch, To from the response (§17.1.1.3). */
  private buildNon2xxAck(response: SipResponse): SipRequest {
    const r = this.request;
    const ack: SipRequest = { kind: 'request', method: 'ACK', uri: r.uri, headers: r.headers.clone(), body: '' };
    const h = ack.headers;
    // Only the top Via (ours) is kept; To carries the tag the response set.
    const topVia = r.headers.get('Via');
    h.delete('Via');
    if (topVia) h.append('Via', topVia);
    h.set('To', response.headers.get('To') ?? r.headers.get('To') ?? '');
    h.set('CSeq', `${(r.headers.get('CSeq') ?? '1').split(/\s+/)[0]} ACK`);
    for (const name of ['Content-Type', 'Contact', 'Authorization', 'Proxy-Authorization', 'Allow', 'Supported']) h.delete(name);
    return ack;
  }
}

/**
 * A server transaction. It remembers the last response so a retransmitted request gets
 * it again; an INVITE's non-2xx final response is retransmitted until the ACK arrives.
 */
export class ServerTransaction {
  private lastResponse: SipResponse | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private terminated = false;
  private acked = false;
  private cancelHandler: (() => void) | undefined;

  constructor(
    readonly request: SipRequest,
    /** Where the request came from: responses go back there (symmetric, RFC 3581). */
    readonly source: Destination,
    private readonly send: SendFn,
    private readonly timers: SipTimers,
    private readonly onTerminated: () => void,
  ) {}

  get isFinal(): boolean {
    return (this.lastResponse?.status ?? 0) >= 200;
  }

  /** Status of the final response sent, if any. */
  get finalStatus(): number | undefined {
    return this.isFinal ? this.lastResponse?.status : undefined;
  }

  /** Who answers a CANCEL of this INVITE (the inbound call, which ends with 487). */
  setCancelHandler(handler: () => void): void {
    this.cancelHandler = handler;
  }

  /**
   * A CANCEL matched this transaction (§9.2). Too late once a final response went out;
   * otherwise the handler ends the call, or with none the INVITE gets its 487 here.
   */
  cancel(): void {
    if (this.isFinal || this.terminated) return;
    if (this.cancelHandler) this.cancelHandler();
    else this.respond(createResponse(this.request, 487, { toTag: randomBytes(8).toString('hex') }));
  }

  /** Sends a response; only the first final response counts. */
  respond(response: SipResponse): void {
    if (this.isFinal || this.terminated) return;
    this.lastResponse = response;
    this.transmit(response);
    if (response.status < 200) return;
    if (this.request.method === 'INVITE' && response.status >= 300) {
      // Timers G and H: retransmit until the ACK, give up after 64·T1.
      this.retransmitFinal(this.timers.t1Ms);
      this.lingerTimer = setTimeout(() => this.terminate(), 64 * this.timers.t1Ms);
    } else if (this.request.method === 'INVITE') {
      // 2xx retransmission belongs to the dialog layer (§13.3.1.4); the transaction ends.
      this.lingerTimer = setTimeout(() => this.terminate(), 64 * this.timers.t1Ms);
    } else {
      // Timer J: absorb retransmitted requests for 64·T1.
      this.lingerTimer = setTimeout(() => this.terminate(), 64 * this.timers.t1Ms);
    }
  }

  /** Replies to a retransmitted request with the last response. */
  onRetransmission(): void {
    if (this.lastResponse) this.transmit(this.lastResponse);
  }

  /** The ACK for a non-2xx final response arrived. */
  onAck(): void {
    this.acked = true;
    if (this.retransmitTimer) clearTimeout(this.retransmitTimer);
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    if (this.retransmitTimer) clearTimeout(this.retransmitTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.onTerminated();
  }

  private retransmitFinal(intervalMs: number): void {
    this.retransmitTimer = setTimeout(() => {
      if (this.acked || this.terminated || !this.lastResponse) return;
      this.transmit(this.lastResponse);
      this.retransmitFinal(Math.min(intervalMs * 2, this.timers.t2Ms));
    }, intervalMs);
  }

  private transmit(response: SipResponse): void {
    try {
      this.send(response, this.source);
    } catch {
      // A lost response is recovered by the peer's retransmission of the request.
    }
  }
}

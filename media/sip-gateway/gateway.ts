/**
 * The gateway's call registry: dials, finds calls for transfer, drains on shutdown.
 *
 * Idempotency: a call is keyed by room name + participant identity (what livekit-sip
 * keys a SIP participant by, and what callers derive from workflow ID + step). A repeated
 * request while the call is under way, or within `rememberFinishedMs` after it ended,
 * gets that call's outcome; it never sends a second INVITE.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { BridgedCall, type LiveKitSettings } from './bridged-call.js';
import {
  GatewayDrainingError,
  IdempotencyConflictError,
  SipCallNotActiveError,
  SipParticipantNotFoundError,
} from './errors.js';
import { RtpPortPool } from './rtp-ports.js';
import type { CreateSipParticipantParsed, CreateSipParticipantResponse, TransferSipParticipantRequest } from './schemas.js';
import type { SipTimers } from './transactions.js';
import { UserAgent } from './user-agent.js';

export interface SipGatewayOptions {
  /** Address for SIP and RTP sockets (and advertised in Via, Contact, SDP). */
  host: string;
  sipPort: number;
  rtpPortStart: number;
  rtpPortEnd: number;
  livekit: LiveKitSettings;
  logger: Logger;
  timers?: Partial<SipTimers>;
  /** How long a finished call still answers repeated requests. Default 10 minutes. */
  rememberFinishedMs?: number;
}

interface CallRecord {
  call: BridgedCall;
  fingerprint: string;
  /** Settles with the response to give for this call (or its error). */
  started: Promise<void>;
  endedAt?: number;
}

function callKey(roomName: string, identity: string): string {
  return `${roomName}\n${identity}`;
}

/** What makes two requests "the same call": a different callee or trunk is a conflict. */
function fingerprintOf(r: CreateSipParticipantParsed): string {
  return createHash('sha256').update(JSON.stringify([r.trunk.address, r.trunk.numbers[0], r.callTo])).digest('hex');
}

export class SipGateway {
  private readonly calls = new Map<string, CallRecord>();
  private draining = false;
  private sweepTimer: NodeJS.Timeout;

  private constructor(
    readonly ua: UserAgent,
    private readonly ports: RtpPortPool,
    private readonly opts: SipGatewayOptions,
  ) {
    // Forget finished calls after the retention window.
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
  }

  /** Binds the SIP socket and proves the RTP range; rejects if either is unusable. */
  static async start(opts: SipGatewayOptions): Promise<SipGateway> {
    const ports = new RtpPortPool(opts.host, opts.rtpPortStart, opts.rtpPortEnd);
    await ports.probe();
    const ua = await UserAgent.start({
      host: opts.host,
      port: opts.sipPort,
      logger: opts.logger.child({ component: 'sip-ua' }),
      ...(opts.timers ? { timers: opts.timers } : {}),
    });
    return new SipGateway(ua, ports, opts);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get activeCallCount(): number {
    let n = 0;
    for (const r of this.calls.values()) if (r.endedAt === undefined) n++;
    return n;
  }

  /**
   * Places a call (or returns the one already placed for this room and identity).
   * With `waitUntilAnswered`, resolves after 200 OK or rejects with the typed failure.
   */
  async createSipParticipant(request: CreateSipParticipantParsed): Promise<CreateSipParticipantResponse> {
    const key = callKey(request.roomName, request.participantIdentity);
    let record = this.calls.get(key);
    if (record && record.fingerprint !== fingerprintOf(request)) throw new IdempotencyConflictError();
    if (!record) {
      if (this.draining) throw new GatewayDrainingError();
      record = this.place(key, request);
    } else {
      this.opts.logger.info({ sipCallId: record.call.sipCallId }, 'repeated dial request, returning the existing call');
    }
    await record.started;
    if (request.waitUntilAnswered) await record.call.answered;
    return {
      participantIdentity: request.participantIdentity,
      roomName: request.roomName,
      sipCallId: record.call.sipCallId,
    };
  }

  async transferSipParticipant(request: TransferSipParticipantRequest): Promise<void> {
    const record = this.calls.get(callKey(request.roomName, request.participantIdentity));
    if (!record || record.endedAt !== undefined) throw new SipParticipantNotFoundError();
    if (record.call.status !== 'active') throw new SipCallNotActiveError(record.call.status);
    await record.call.transfer(request.transferTo);
  }

  /** Stops taking calls, hangs up every live call, closes the sockets. */
  async shutdown(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    const live = [...this.calls.values()].filter((r) => r.endedAt === undefined);
    this.opts.logger.info({ calls: live.length }, 'hanging up live calls');
    await Promise.allSettled(live.map((r) => r.call.hangup('shutdown')));
    await this.ua.close();
  }

  private place(key: string, request: CreateSipParticipantParsed): CallRecord {
    const call = new BridgedCall(request, {
      ua: this.ua,
      ports: this.ports,
      livekit: this.opts.livekit,
      logger: this.opts.logger,
    });
    const started = call.start();
    const record: CallRecord = { call, fingerprint: fingerprintOf(request), started };
    // Nothing was dialled when start() fails (LiveKit or RTP ports unavailable): forget
    // the call so a retry really retries. This also marks the rejection as handled.
    started.catch(() => {
      if (this.calls.get(key) === record) this.calls.delete(key);
    });
    this.calls.set(key, record);
    void call.ended.then(() => {
      record.endedAt = Date.now();
    });
    return record;
  }

  private sweep(): void {
    const keepMs = this.opts.rememberFinishedMs ?? 10 * 60_000;
    const now = Date.now();
    for (const [key, record] of this.calls) {
      if (record.endedAt !== undefined && now - record.endedAt > keepMs) this.calls.delete(key);
    }
  }
}

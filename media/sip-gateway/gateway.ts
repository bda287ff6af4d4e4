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
import { RoomServiceClient } from 'livekit-server-sdk';
import { InboundCall } from './inbound-call.js';
import { InboundRoutes, dialledNumber } from './inbound-routing.js';
import { createResponse, parseSipUri, type SipRequest } from './sip-message.js';
import type { ServerTransaction } from './transactions.js';

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
  /** Inbound trunks and dispatch rules to start with (more via the control API). */
  inboundRoutes?: InboundRoutes;
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
  /** Inbound trunks and dispatch rules (LiveKit SIP's CreateSIPInboundTrunk / CreateSIPDispatchRule). */
  readonly routes: InboundRoutes;
  private readonly inbound = new Set<InboundCall>();
  private readonly rooms: RoomServiceClient;
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
    this.routes = opts.inboundRoutes ?? new InboundRoutes();
    this.rooms = new RoomServiceClient(opts.livekit.wsUrl.replace(/^ws/, 'http'), opts.livekit.apiKey, opts.livekit.apiSecret);
    ua.setInviteHandler((request, tx) => this.onInvite(request, tx));
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
    let n = this.inbound.size;
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
    this.opts.logger.info({ calls: live.length + this.inbound.size }, 'hanging up live calls');
    await Promise.allSettled([...live.map((r) => r.call.hangup('shutdown')), ...[...this.inbound].map((c) => c.hangup())]);
    await this.ua.close();
  }

  /**
   * An INVITE from a carrier: routed by the dialled number and source address to a trunk
   * and rule, answered into a new room. 404 for a number no trunk owns, 480 for a trunk
   * with no rule, 503 while draining.
   */
  private onInvite(request: SipRequest, tx: ServerTransaction): void {
    if (this.draining) {
      tx.respond(createResponse(request, 503, { headers: [['Retry-After', '30']] }));
      return;
    }
    let number: string;
    try {
      number = dialledNumber(parseSipUri(request.uri).user ?? '');
    } catch {
      tx.respond(createResponse(request, 400));
      return;
    }
    const match = this.routes.match(number, tx.source.host);
    if (!match.ok) {
      // The number itself stays out of the log.
      this.opts.logger.info({ reason: match.reason }, 'inbound call not routed');
      tx.respond(createResponse(request, match.reason === 'no_trunk' ? 404 : 480));
      return;
    }
    const call = new InboundCall(request, tx, match, {
      ua: this.ua,
      ports: this.ports,
      livekit: this.opts.livekit,
      rooms: this.rooms,
      logger: this.opts.logger,
    });
    this.inbound.add(call);
    void call.ended.then(() => this.inbound.delete(call));
    this.opts.logger.info({ sipCallId: call.sipCallId, roomName: call.roomName }, 'inbound call routed');
    void call.start().catch((err: unknown) => this.opts.logger.error({ err }, 'inbound call failed'));
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

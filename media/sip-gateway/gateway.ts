/**
 * The gateway's call registry: dials, answers routed INVITEs, finds calls for transfer,
 * drains on shutdown.
 *
 * Every call, outbound or inbound, is keyed by room name + participant identity (what
 * livekit-sip keys a SIP participant by): a transfer finds an inbound caller the same way
 * as a callee. Idempotency of dials: a repeated request while the call is under way, or
 * within `rememberFinishedMs` after it ended, gets that call's outcome; it never sends a
 * second INVITE.
 */
import { createHash } from 'node:crypto';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Logger } from 'pino';
import type { BridgedCall, LiveKitSettings } from './bridged-call.js';
import {
  GatewayDrainingError,
  IdempotencyConflictError,
  SipCallNotActiveError,
  SipParticipantNotFoundError,
} from './errors.js';
import { InboundBridgedCall, type InboundBridgedCallDeps } from './inbound-bridged-call.js';
import { InboundRoutes, dialledNumber } from './inbound-routing.js';
import { OutboundBridgedCall } from './outbound-bridged-call.js';
import { RtpPortPool } from './rtp-ports.js';
import type { CreateSipParticipantParsed, CreateSipParticipantResponse, TransferSipParticipantRequest } from './schemas.js';
import { createResponse, parseSipUri, type SipRequest } from './sip-message.js';
import type { ServerTransaction, SipTimers } from './transactions.js';
import { UserAgent, randomToken } from './user-agent.js';

export interface SipGatewayOptions {
  /** Address for SIP and RTP sockets (and advertised in Via, Contact, SDP). */
  host: string;
  /** SIP UDP port; 0 picks a free one (see `ua.port`). */
  sipPort: number;
  rtpPortStart: number;
  rtpPortEnd: number;
  livekit: LiveKitSettings;
  logger: Logger;
  timers?: Partial<SipTimers>;
  /** How long a finished call still answers repeated requests. Default 10 minutes. */
  rememberFinishedMs?: number;
  /**
   * JSON file of inbound trunks and dispatch rules to start with (`{ trunks, rules }`);
   * the control API changes them in memory only. None: no inbound routes until added.
   */
  routesFile?: string;
}

interface CallRecord {
  call: BridgedCall;
  /** What a repeated dial must match; inbound calls match no dial. */
  fingerprint: string;
  /** Settles once the call is under way (or has failed to start). */
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

const INBOUND_FINGERPRINT = 'inbound';

export class SipGateway {
  private readonly calls = new Map<string, CallRecord>();
  private draining = false;
  private sweepTimer: NodeJS.Timeout;
  private readonly rooms: InboundBridgedCallDeps['rooms'];

  private constructor(
    readonly ua: UserAgent,
    private readonly ports: RtpPortPool,
    /** Inbound trunks and dispatch rules (LiveKit SIP's CreateSIPInboundTrunk / CreateSIPDispatchRule). */
    readonly routes: InboundRoutes,
    private readonly opts: SipGatewayOptions,
  ) {
    // Forget finished calls after the retention window.
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
    this.rooms = new RoomServiceClient(opts.livekit.httpUrl, opts.livekit.apiKey, opts.livekit.apiSecret);
    ua.setInviteHandler((request, tx) => this.onInvite(request, tx));
  }

  /** Loads the routes file, binds the SIP socket and proves the RTP range; rejects if any is unusable. */
  static async start(opts: SipGatewayOptions): Promise<SipGateway> {
    const routes = opts.routesFile ? await InboundRoutes.fromFile(opts.routesFile) : new InboundRoutes();
    if (opts.routesFile) {
      opts.logger.info({ trunks: routes.listTrunks().length, rules: routes.listRules().length }, 'inbound routes loaded');
    }
    const ports = new RtpPortPool(opts.host, opts.rtpPortStart, opts.rtpPortEnd);
    await ports.probe();
    const ua = await UserAgent.start({
      host: opts.host,
      port: opts.sipPort,
      logger: opts.logger.child({ component: 'sip-ua' }),
      ...(opts.timers ? { timers: opts.timers } : {}),
    });
    return new SipGateway(ua, ports, routes, opts);
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

  /** Cold transfer of a live call, outbound or inbound. */
  async transferSipParticipant(request: TransferSipParticipantRequest): Promise<void> {
    const record = this.calls.get(callKey(request.roomName, request.participantIdentity));
    if (!record || record.endedAt !== undefined) throw new SipParticipantNotFoundError();
    if (record.call.status !== 'active') throw new SipCallNotActiveError(record.call.status);
    await record.call.transfer(request.transferTo);
  }

  /** Stops taking calls (503 to INVITEs, refused dials), hangs up every live call, closes the sockets. */
  async shutdown(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    const live = [...this.calls.values()].filter((r) => r.endedAt === undefined);
    this.opts.logger.info({ calls: live.length }, 'hanging up live calls');
    await Promise.allSettled(live.map((r) => r.call.hangup('shutdown')));
    await this.ua.close();
  }

  /**
   * A new INVITE: routed by the dialled number and source address to a trunk and rule,
   * then answered into a new room. 404 for a number no trunk owns (from that source), 480
   * for a trunk with no rule, 503 while draining.
   */
  private onInvite(request: SipRequest, tx: ServerTransaction): void {
    const refuse = (status: number, headers: [string, string][] = []) =>
      tx.respond(createResponse(request, status, { toTag: randomToken(), headers }));
    if (this.draining) return refuse(503, [['Retry-After', '30']]);
    let number: string;
    try {
      const uri = request.uri.toLowerCase().startsWith('tel:') ? undefined : parseSipUri(request.uri);
      number = dialledNumber(uri ? (uri.user ?? '') : request.uri.slice(4));
    } catch {
      return refuse(400);
    }
    const match = this.routes.match(number, tx.source.host);
    if (!match.ok) {
      // Neither the dialled nor the calling number is logged.
      this.opts.logger.info({ reason: match.reason }, 'inbound call not routed');
      return refuse(match.reason === 'no_trunk' ? 404 : 480);
    }
    const call = new InboundBridgedCall(match, request, tx, number, {
      ua: this.ua,
      ports: this.ports,
      livekit: this.opts.livekit,
      rooms: this.rooms,
      logger: this.opts.logger,
    });
    this.opts.logger.info({ sipCallId: call.sipCallId, roomName: call.roomName, trunkId: match.trunk.trunkId, ruleId: match.rule.ruleId }, 'inbound call routed');
    const record: CallRecord = { call, fingerprint: INBOUND_FINGERPRINT, started: call.start() };
    this.calls.set(callKey(call.roomName, call.participantIdentity), record);
    void call.ended.then(() => {
      record.endedAt = Date.now();
    });
  }

  private place(key: string, request: CreateSipParticipantParsed): CallRecord {
    const call = new OutboundBridgedCall(request, {
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

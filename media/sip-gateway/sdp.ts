/**
 * SDP offer/answer (RFC 3264) for one audio stream: G.711 µ-law at 8 kHz and RFC 4733
 * telephone-event, the pair every carrier accepts. Only what the gateway needs is read.
 */

/** Static payload type of PCMU (RFC 3551). */
export const PCMU_PAYLOAD_TYPE = 0;
/** The dynamic payload type the gateway offers for telephone-event. */
export const DEFAULT_TELEPHONE_EVENT_PAYLOAD_TYPE = 101;

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RtpMap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels?: number;
}

/** The audio stream of a session description, as much as the gateway needs. */
export interface AudioDescription {
  /** Connection address for RTP (media-level c= wins over session-level). */
  address: string;
  port: number;
  /** Payload types in preference order, as listed on the m= line. */
  payloadTypes: number[];
  rtpMaps: Map<number, RtpMap>;
  fmtp: Map<number, string>;
  direction: MediaDirection;
  ptimeMs?: number;
}

/** Raised for an SDP the gateway cannot use; answered with 488 or turned into a failed call. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
  readonly retryable = false;
}

const staticRtpMaps: Readonly<Record<number, RtpMap>> = {
  0: { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
  8: { payloadType: 8, encoding: 'PCMA', clockRate: 8000 },
};

/** Parses the first audio m= section of an SDP body. */
export function parseSdp(sdp: string): AudioDescription {
  let sessionAddress: string | undefined;
  let audio: AudioDescription | undefined;
  let inAudio = false;
  let sessionDirection: MediaDirection = 'sendrecv';
  let mediaDirection: MediaDirection | undefined;
  // Session-level lines come before the first m= line, whatever its media type.
  let sawMedia = false;

  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      if (audio) break; // only the first audio stream matters
      sawMedia = true;
      const m = /^audio\s+(\d+)(?:\/\d+)?\s+(\S+)\s*(.*)$/.exec(value);
      inAudio = Boolean(m);
      if (m?.[1]) {
        audio = {
          address: sessionAddress ?? '',
          port: Number(m[1]),
          payloadTypes: (m[3] ?? '').split(/\s+/).filter(Boolean).map(Number),
          rtpMaps: new Map(),
          fmtp: new Map(),
          direction: sessionDirection,
        };
      }
      continue;
    }
    if (type === 'c') {
      const c = /^IN\s+IP[46]\s+(\S+)/.exec(value);
      if (!c?.[1]) continue;
      const address = c[1].split('/')[0] ?? c[1];
      if (inAudio && audio) audio.address = address;
      else if (!sawMedia) sessionAddress = address;
      continue;
    }
    if (type !== 'a') continue;
    if (value === 'sendrecv' || value === 'sendonly' || value === 'recvonly' || value === 'inactive') {
      if (inAudio) mediaDirection = value;
      else if (!sawMedia) sessionDirection = value;
      continue;
    }
    if (!inAudio || !audio) continue;
    const rtpmap = /^rtpmap:(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value);
    if (rtpmap?.[1] && rtpmap[2] && rtpmap[3]) {
      const entry: RtpMap = { payloadType: Number(rtpmap[1]), encoding: rtpmap[2], clockRate: Number(rtpmap[3]) };
      if (rtpmap[4]) entry.channels = Number(rtpmap[4]);
      audio.rtpMaps.set(entry.payloadType, entry);
      continue;
    }
    const fmtp = /^fmtp:(\d+)\s+(.*)$/.exec(value);
    if (fmtp?.[1] && fmtp[2] !== undefined) {
      audio.fmtp.set(Number(fmtp[1]), fmtp[2].trim());
      continue;
    }
    const ptime = /^ptime:(\d+)/.exec(value);
    if (ptime?.[1]) audio.ptimeMs = Number(ptime[1]);
  }
  if (!audio) throw new SdpError('no audio stream in SDP');
  if (mediaDirection) audio.direction = mediaDirection;
  if (!audio.address) throw new SdpError('no connection address in SDP');
  return audio;
}

/** The rtpmap of a payload type, falling back to the static assignments of RFC 3551. */
export function rtpMapOf(desc: AudioDescription, payloadType: number): RtpMap | undefined {
  return desc.rtpMaps.get(payloadType) ?? staticRtpMaps[payloadType];
}

/** What both sides agreed on. */
export interface NegotiatedMedia {
  remoteAddress: string;
  remotePort: number;
  /** Payload type carrying PCMU in the remote party's numbering. */
  audioPayloadType: number;
  /** Payload type of telephone-event, when both sides support it. */
  telephoneEventPayloadType?: number;
  direction: MediaDirection;
}

/**
 * Picks PCMU and telephone-event from a remote description (an answer to our offer, or
 * later an inbound offer). Throws SdpError when PCMU is not among the remote's formats.
 */
export function negotiate(remote: AudioDescription): NegotiatedMedia {
  const pcmu = remote.payloadTypes.find((pt) => {
    const map = rtpMapOf(remote, pt);
    return map?.encoding.toUpperCase() === 'PCMU' && map.clockRate === 8000;
  });
  if (pcmu === undefined) throw new SdpError('remote does not accept PCMU/8000');
  if (remote.port === 0) throw new SdpError('remote rejected the audio stream');
  const result: NegotiatedMedia = {
    remoteAddress: remote.address,
    remotePort: remote.port,
    audioPayloadType: pcmu,
    direction: remote.direction,
  };
  const dtmf = remote.payloadTypes.find((pt) => {
    const map = rtpMapOf(remote, pt);
    return map?.encoding.toLowerCase() === 'telephone-event' && map.clockRate === 8000;
  });
  if (dtmf !== undefined) result.telephoneEventPayloadType = dtmf;
  return result;
}

export interface LocalDescriptionOptions {
  address: string;
  port: number;
  /** o= session id; stays the same for the dialog's lifetime. */
  sessionId: string;
  /** o= version; increments on every new description within a session. */
  sessionVersion: number;
  /** Payload type for telephone-event; defaults to 101 (answers reuse the offer's). */
  telephoneEventPayloadType?: number;
  /** List telephone-event at all; an answer leaves it out when the offer had none (RFC 3264 §6). Default true. */
  telephoneEvent?: boolean;
  direction?: MediaDirection;
}

/** Builds the gateway's own description: PCMU/8000, telephone-event/8000, 20 ms frames. */
export function buildSdp(opts: LocalDescriptionOptions): string {
  const te = opts.telephoneEventPayloadType ?? DEFAULT_TELEPHONE_EVENT_PAYLOAD_TYPE;
  const withTe = opts.telephoneEvent ?? true;
  const ipVersion = opts.address.includes(':') ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=kickcall ${opts.sessionId} ${opts.sessionVersion} IN ${ipVersion} ${opts.address}`,
    's=kickcall',
    `c=IN ${ipVersion} ${opts.address}`,
    't=0 0',
    `m=audio ${opts.port} RTP/AVP ${PCMU_PAYLOAD_TYPE}${withTe ? ` ${te}` : ''}`,
    `a=rtpmap:${PCMU_PAYLOAD_TYPE} PCMU/8000`,
    ...(withTe ? [`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} 0-16`] : []),
    'a=ptime:20',
    `a=${opts.direction ?? 'sendrecv'}`,
    '',
  ].join('\r\n');
}

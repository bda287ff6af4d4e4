/**
 * The SIP side of an inbound call (UAS), against a real user agent on loopback with a raw
 * UDP socket as the caller and short RFC 3261 timers: ringing, the answer retransmitted
 * until the ACK, BYE both ways, CANCEL before the answer, and a missing ACK.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { InboundCall } from '../../media/sip-gateway/inbound-call.js';
import { negotiate, parseSdp } from '../../media/sip-gateway/sdp.js';
import type { EndReason } from '../../media/sip-gateway/sip-call.js';
import { parseSipMessage, type SipMessage } from '../../media/sip-gateway/sip-message.js';
import { UserAgent } from '../../media/sip-gateway/user-agent.js';
import { waitFor } from '../helpers/async.js';

const T1_MS = 20;
let ua: UserAgent;
let onCall: (call: InboundCall) => void = () => undefined;

before(async () => {
  ua = await UserAgent.start({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), timers: { t1Ms: T1_MS, t2Ms: 4 * T1_MS, t4Ms: 5 * T1_MS } });
  ua.setInviteHandler((invite, tx) => {
    const call = new InboundCall({ ua, logger: pino({ level: 'silent' }), invite, tx, offer: negotiate(parseSdp(invite.body)), rtpAddress: '127.0.0.1', rtpPort: 40_000 });
    onCall(call);
  });
});
after(() => ua.close());

/** A caller: a UDP socket that records what it receives and sends raw SIP. */
async function caller() {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const received: SipMessage[] = [];
  socket.on('message', (data) => received.push(parseSipMessage(data)));
  const port = socket.address().port;
  let seq = 0;
  const id = Math.random().toString(16).slice(2);
  const callId = `call-${id}@127.0.0.1`;
  // Each caller's INVITE (and its CANCEL) has a branch of its own: a reused one would be a retransmission.
  const inviteBranch = `z9hG4bKinv${id}`;
  const send = (lines: string[], body = '') =>
    socket.send(`${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, ua.port, '127.0.0.1');
  const common = (branch: string, cseq: string, toTag = '') => [
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch}`,
    'From: <sip:caller@127.0.0.1>;tag=caller1',
    `To: <sip:+15550100200@127.0.0.1>${toTag ? `;tag=${toTag}` : ''}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
  ];
  return {
    received,
    responses: (status: number, method = 'INVITE') =>
      received.filter((m) => m.kind === 'response' && m.status === status && m.headers.get('CSeq')?.endsWith(method)),
    requests: (method: string) => received.filter((m) => m.kind === 'request' && m.method === method),
    invite(opts: { telephoneEvent?: boolean } = {}) {
      const sdp = [
        'v=0', 'o=c 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
        `m=audio 40100 RTP/AVP 0${opts.telephoneEvent === false ? '' : ' 101'}`,
        'a=rtpmap:0 PCMU/8000', ...(opts.telephoneEvent === false ? [] : ['a=rtpmap:101 telephone-event/8000']), '',
      ].join('\r\n');
      send(['INVITE sip:+15550100200@127.0.0.1 SIP/2.0', ...common(inviteBranch, '1 INVITE'), `Contact: <sip:caller@127.0.0.1:${port}>`, 'Content-Type: application/sdp'], sdp);
    },
    cancel: () => send(['CANCEL sip:+15550100200@127.0.0.1 SIP/2.0', ...common(inviteBranch, '1 CANCEL')]),
    ack: (toTag: string) => send(['ACK sip:caller@127.0.0.1 SIP/2.0', ...common(`z9hG4bKack${++seq}`, '1 ACK', toTag)]),
    bye: (toTag: string) => send(['BYE sip:kickcall@127.0.0.1 SIP/2.0', ...common(`z9hG4bKbye${++seq}`, '2 BYE', toTag)]),
    /** 200 OK for a request the gateway sent. */
    ok: (request: SipMessage) => {
      const h = request.headers;
      send(['SIP/2.0 200 OK', ...h.getAll('Via').map((v) => `Via: ${v}`), `From: ${h.get('From')}`, `To: ${h.get('To')}`, `Call-ID: ${h.get('Call-ID')}`, `CSeq: ${h.get('CSeq')}`]);
    },
    close: () => socket.close(),
  };
}

function nextCall(): Promise<InboundCall> {
  return new Promise((resolve) => (onCall = resolve));
}

function endOf(call: InboundCall): Promise<EndReason> {
  return new Promise((resolve) => call.once('ended', resolve));
}

function toTagOf(message: SipMessage | undefined): string {
  return /;tag=([^;\s]+)/.exec(message?.headers.get('To') ?? '')?.[1] ?? '';
}

test('ringing, then the answer retransmitted until the ACK; the caller’s BYE ends the call', async () => {
  const peer = await caller();
  const incoming = nextCall();
  peer.invite();
  const call = await incoming;
  call.ring();
  const answered = call.answer();
  // Without an ACK the 200 goes again (T1, 2·T1...).
  await waitFor(() => peer.responses(200).length >= 3, 2000, 'the 200 was not retransmitted');
  const ok = peer.responses(200)[0];
  assert.equal(peer.responses(100).length, 1);
  assert.equal(peer.responses(180).length, 1);
  assert.match(ok?.body ?? '', /^m=audio 40000 RTP\/AVP 0 101\r$/m, 'PCMU, and telephone-event as offered');
  assert.equal(toTagOf(peer.responses(180)[0]), toTagOf(ok), 'one dialog: the same To tag on 180 and 200');

  peer.ack(toTagOf(ok));
  const media = await answered;
  assert.equal(media.remotePort, 40100);
  assert.equal(call.state, 'active');
  const sent = peer.responses(200).length;
  await new Promise((r) => setTimeout(r, 8 * T1_MS));
  assert.equal(peer.responses(200).length, sent, 'no more 200s after the ACK');

  const ended = endOf(call);
  peer.bye(toTagOf(ok));
  assert.equal(await ended, 'remote-hangup');
  await waitFor(() => peer.responses(200, 'BYE').length === 1, 1000, 'the BYE was not answered');
  peer.close();
});

test('hanging up an answered call sends BYE to the caller’s Contact', async () => {
  const peer = await caller();
  const incoming = nextCall();
  peer.invite({ telephoneEvent: false });
  const call = await incoming;
  const answered = call.answer();
  await waitFor(() => peer.responses(200).length >= 1, 1000, 'no 200');
  const ok = peer.responses(200)[0];
  assert.doesNotMatch(ok?.body ?? '', /telephone-event/, 'an answer lists only what the offer had');
  peer.ack(toTagOf(ok));
  await answered;

  const hungUp = call.hangup('local-hangup');
  await waitFor(() => peer.requests('BYE').length >= 1, 1000, 'no BYE');
  const bye = peer.requests('BYE')[0]!;
  assert.ok(bye.kind === 'request' && bye.uri.startsWith('sip:caller@127.0.0.1:'));
  peer.ok(bye);
  await hungUp;
  assert.equal(call.state, 'ended');
  peer.close();
});

test('a CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE, and no answer after it', async () => {
  const peer = await caller();
  const incoming = nextCall();
  peer.invite();
  const call = await incoming;
  call.ring();
  const ended = endOf(call);
  peer.cancel();
  assert.equal(await ended, 'canceled');
  // Retransmitted until the ACK, which this caller never sends.
  await waitFor(() => peer.responses(487).length >= 1, 1000, 'no 487');
  assert.equal(peer.responses(200, 'CANCEL').length, 1);
  await assert.rejects(call.answer(), /Request Terminated/);
  assert.equal(peer.responses(200).length, 0);
  peer.close();
});

test('no ACK within 64·T1: BYE, and the answer fails with 408', async () => {
  const peer = await caller();
  const incoming = nextCall();
  peer.invite();
  const call = await incoming;
  const ended = endOf(call);
  await assert.rejects(call.answer(), /Request Timeout/);
  assert.equal(await ended, 'failed');
  await waitFor(() => peer.requests('BYE').length >= 1, 1000, 'no BYE after the missing ACK');
  peer.close();
});

/** SDP offer/answer for PCMU and telephone-event. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSdp, negotiate, parseSdp } from '../../media/sip-gateway/sdp.js';

test('our offer parses back to PCMU/8000 + telephone-event on the given port', () => {
  const sdp = buildSdp({ address: '127.0.0.1', port: 16000, sessionId: '42', sessionVersion: 1 });
  assert.match(sdp, /^v=0\r\n/);
  assert.match(sdp, /\r\nm=audio 16000 RTP\/AVP 0 101\r\n/);
  assert.match(sdp, /\r\na=rtpmap:0 PCMU\/8000\r\n/);
  assert.match(sdp, /\r\na=fmtp:101 0-16\r\n/);
  const desc = parseSdp(sdp);
  assert.deepEqual([desc.address, desc.port, desc.payloadTypes, desc.direction, desc.ptimeMs], ['127.0.0.1', 16000, [0, 101], 'sendrecv', 20]);
  assert.deepEqual(negotiate(desc), { remoteAddress: '127.0.0.1', remotePort: 16000, audioPayloadType: 0, telephoneEventPayloadType: 101, direction: 'sendrecv' });
});

test('negotiates a carrier answer: media-level c= wins, static PCMU without rtpmap, other DTMF number', () => {
  const answer = [
    'v=0',
    'o=- 1 1 IN IP4 198.51.100.1',
    's=-',
    'c=IN IP4 198.51.100.1',
    't=0 0',
    'a=sendrecv',
    'm=audio 40000 RTP/AVP 8 0 96',
    'c=IN IP4 203.0.113.7',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:96 telephone-event/8000',
    'a=recvonly',
    '',
  ].join('\r\n');
  const media = negotiate(parseSdp(answer));
  assert.deepEqual(media, { remoteAddress: '203.0.113.7', remotePort: 40000, audioPayloadType: 0, telephoneEventPayloadType: 96, direction: 'recvonly' });
});

test('session-level c= applies when the media has none; a video stream first is skipped', () => {
  const sdp = 'v=0\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 5000 RTP/AVP 96\na=sendonly\nm=audio 6000 RTP/AVP 0\n';
  const desc = parseSdp(sdp);
  assert.deepEqual([desc.address, desc.port, desc.direction], ['192.0.2.1', 6000, 'sendrecv']);
});

test('rejects an answer without PCMU, without audio, or with the stream refused', () => {
  assert.throws(() => negotiate(parseSdp('v=0\nc=IN IP4 1.2.3.4\nm=audio 5000 RTP/AVP 8\n')), { name: 'SdpError' });
  assert.throws(() => parseSdp('v=0\nc=IN IP4 1.2.3.4\nm=video 5000 RTP/AVP 96\n'), { name: 'SdpError' });
  assert.throws(() => negotiate(parseSdp('v=0\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n')), { name: 'SdpError' });
});

/** RTP header fields, packetizer numbering and wrap-around. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpPacketizer, isNewerSequence, parseRtp, serializeRtp } from '../../media/sip-gateway/rtp.js';

test('serialised header fields are where RFC 3550 puts them', () => {
  const buf = serializeRtp({ marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, payload: new Uint8Array([1, 2, 3]) });
  assert.equal(buf.length, 15);
  assert.equal(buf[0], 0x80, 'V=2, no padding, no extension, no CSRC');
  assert.equal(buf[1], 0x80, 'marker set, PT 0');
  assert.deepEqual([...buf.subarray(2, 12)], [0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
  const p = parseRtp(buf);
  assert.deepEqual(p.header, { version: 2, padding: false, extension: false, csrcCount: 0, marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304 });
  assert.deepEqual([...p.payload], [1, 2, 3]);
});

test('parses CSRCs, a header extension and padding', () => {
  const payload = [9, 9];
  const bytes = [
    0xb1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, // V=2 P=1 X=1 CC=1, PT 8
    0, 0, 0, 42, // CSRC
    0xbe, 0xde, 0, 1, 1, 2, 3, 4, // extension of one word
    ...payload,
    0, 0, 3, // 3 bytes of padding
  ];
  const p = parseRtp(Buffer.from(bytes));
  assert.equal(p.header.payloadType, 8);
  assert.equal(p.header.csrcCount, 1);
  assert.deepEqual([...p.payload], payload);
  assert.throws(() => parseRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), { name: 'RtpParseError' });
  assert.throws(() => parseRtp(Buffer.alloc(5)), { name: 'RtpParseError' });
});

test('packetizer: marker on the first packet, seq +1 and timestamp +samples, both wrapping', () => {
  const pz = new RtpPacketizer(0, { ssrc: 77, sequenceNumber: 0xffff, timestamp: 0xffffff00 });
  const a = parseRtp(pz.packetize(new Uint8Array(160)));
  const b = parseRtp(pz.packetize(new Uint8Array(160)));
  const c = parseRtp(pz.packetize(new Uint8Array(160)));
  assert.deepEqual([a.header.marker, b.header.marker], [true, false]);
  assert.deepEqual([a.header.sequenceNumber, b.header.sequenceNumber, c.header.sequenceNumber], [0xffff, 0, 1]);
  assert.deepEqual([a.header.timestamp, b.header.timestamp, c.header.timestamp], [0xffffff00, 0xffffffa0, 0x40]);
  assert.equal(c.header.ssrc, 77);
});

test('sequence comparison across the 16-bit wrap', () => {
  assert.ok(isNewerSequence(1, 0));
  assert.ok(isNewerSequence(0, 0xffff));
  assert.ok(!isNewerSequence(0xffff, 0));
  assert.ok(!isNewerSequence(5, 5));
});

/** SIP message syntax: parse and serialise round-trips, compact forms, folding, Via lists. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createResponse,
  formatNameAddr,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  splitHeaderValues,
  tagOf,
  type SipRequest,
} from '../../media/sip-gateway/sip-message.js';

const invite = [
  'INVITE sip:+15550100001@127.0.0.1:5070 SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport',
  'Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKdef, SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bKghi;received=10.0.0.3',
  'f: "Kick, Call" <sip:+15550100000@10.0.0.1>;tag=1928301774',
  't: <sip:+15550100001@127.0.0.1>',
  'i: a84b4c76e66710@10.0.0.1',
  'CSeq: 314159 INVITE',
  'm: <sip:kickcall@10.0.0.1:5060;transport=udp>',
  'Subject: a long subject',
  ' folded onto a second line',
  '\tand a third',
  'c: application/sdp',
  'l: 5',
  '',
  'v=0\r\nignored-extra-bytes',
].join('\r\n');

test('parses a request with compact headers, multiple Via values and folded lines', () => {
  const msg = parseSipMessage(invite);
  assert.equal(msg.kind, 'request');
  const req = msg;
  assert.equal(req.method, 'INVITE');
  assert.equal(req.uri, 'sip:+15550100001@127.0.0.1:5070');
  // The comma-joined Via line is split; order is preserved.
  const vias = req.headers.getAll('via');
  assert.equal(vias.length, 3);
  assert.equal(parseVia(vias[0] ?? '').params.get('branch'), 'z9hG4bKabc');
  assert.equal(parseVia(vias[0] ?? '').params.get('rport'), '');
  const v3 = parseVia(vias[2] ?? '');
  assert.deepEqual([v3.transport, v3.host, v3.port, v3.params.get('received')], ['TCP', '2001:db8::1', 5080, '10.0.0.3']);
  // Compact names are expanded to canonical spellings.
  assert.equal(req.headers.get('Call-ID'), 'a84b4c76e66710@10.0.0.1');
  assert.equal(req.headers.get('Content-Type'), 'application/sdp');
  assert.equal(tagOf(req.headers.get('From')), '1928301774');
  assert.equal(parseNameAddr(req.headers.get('From') ?? '').displayName, 'Kick, Call');
  assert.equal(req.headers.get('Subject'), 'a long subject folded onto a second line and a third');
  assert.deepEqual(parseCSeq(req.headers.get('CSeq')), { seq: 314159, method: 'INVITE' });
  // Content-Length bounds the body.
  assert.equal(req.body, 'v=0\r\n');
});

test('serialise → parse is a round-trip and Content-Length is recomputed', () => {
  const msg = parseSipMessage(invite) as SipRequest;
  msg.body = 'v=0\r\ns=é\r\n';
  const wire = serializeSipMessage(msg);
  const text = wire.toString('utf8');
  assert.match(text, /^INVITE sip:\+15550100001@127\.0\.0\.1:5070 SIP\/2\.0\r\n/);
  assert.match(text, /\r\nContent-Length: 11\r\n\r\n/, 'Content-Length counts bytes (é is two bytes)');
  assert.match(text, /\r\nCall-ID: a84b4c76e66710@10\.0\.0\.1\r\n/);
  const again = parseSipMessage(wire) as SipRequest;
  assert.equal(again.body, msg.body);
  const withoutLength = (h: Iterable<[string, string]>) => [...h].filter(([n]) => n !== 'Content-Length');
  assert.deepEqual(withoutLength(again.headers), withoutLength(msg.headers));
  assert.equal(again.headers.get('Content-Length'), '11');
});

test('parses responses, including a reason phrase with spaces and no body', () => {
  const res = parseSipMessage('SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n');
  assert.equal(res.kind, 'response');
  if (res.kind !== 'response') return;
  assert.equal(res.status, 486);
  assert.equal(res.reason, 'Busy Here');
  assert.equal(res.body, '');
});

test('tolerates leading CRLFs and bare LF line endings', () => {
  const msg = parseSipMessage('\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nCSeq: 2 OPTIONS\n\n');
  assert.equal(msg.kind, 'request');
  assert.equal(msg.headers.get('CSeq'), '2 OPTIONS');
});

test('rejects garbage and truncated bodies', () => {
  assert.throws(() => parseSipMessage('HELLO WORLD\r\n\r\n'), { name: 'SipParseError' });
  assert.throws(() => parseSipMessage('SIP/2.0 200 OK\r\nContent-Length: 50\r\n\r\nshort'), { name: 'SipParseError' });
});

test('splits header values on commas outside quotes and angle brackets', () => {
  assert.deepEqual(splitHeaderValues('"a, b" <sip:x@y;p=1,2>, <sip:z@w>'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z@w>']);
});

test('name-addr and SIP URI helpers', () => {
  const addr = parseNameAddr('<sip:+1555@host:5070;transport=udp>;tag=abc');
  assert.equal(addr.uri, 'sip:+1555@host:5070;transport=udp');
  assert.equal(addr.params.get('tag'), 'abc');
  assert.equal(formatNameAddr(addr), '<sip:+1555@host:5070;transport=udp>;tag=abc');
  const bare = parseNameAddr('sip:a@b;tag=t');
  assert.deepEqual([bare.uri, bare.params.get('tag')], ['sip:a@b', 't']);
  const uri = parseSipUri('sip:+1555@127.0.0.1:5070;transport=udp');
  assert.deepEqual([uri.user, uri.host, uri.port, uri.params.get('transport')], ['+1555', '127.0.0.1', 5070, 'udp']);
  assert.equal(parseSipUri('sip:carrier.example').port, undefined);
});

test('createResponse copies Via, From, Call-ID and CSeq and adds a To tag', () => {
  const req = parseSipMessage(invite) as SipRequest;
  const res = createResponse(req, 180, { toTag: 'xyz' });
  assert.equal(res.reason, 'Ringing');
  assert.deepEqual(res.headers.getAll('Via'), req.headers.getAll('Via'));
  assert.equal(tagOf(res.headers.get('To')), 'xyz');
  assert.equal(res.headers.get('CSeq'), '314159 INVITE');
  // 100 Trying never carries a To tag (§8.2.6.2).
  assert.equal(tagOf(createResponse(req, 100, { toTag: 'xyz' }).headers.get('To')), undefined);
});

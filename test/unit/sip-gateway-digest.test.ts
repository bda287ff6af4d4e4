/** Digest authentication against RFC 2617's worked example. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorizationHeader, digestResponse, parseDigestChallenge } from '../../media/sip-gateway/digest.js';

test('RFC 2617 §3.5 example response', () => {
  const challenge = parseDigestChallenge(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  assert.ok(challenge);
  assert.equal(challenge.realm, 'testrealm@host.com');
  const response = digestResponse({
    challenge,
    credentials: { username: 'Mufasa', password: 'Circle Of Life' },
    method: 'GET',
    uri: '/dir/index.html',
    nonceCount: '00000001',
    cnonce: '0a4f113b',
  });
  assert.equal(response, '6629fae49393a05397450978507c4ef1');
});

test('authorization header carries qop, nc, cnonce and opaque when challenged with qop', () => {
  const challenge = parseDigestChallenge('Digest realm="sip.example", nonce="n1", qop="auth", opaque="o1"');
  assert.ok(challenge);
  const header = authorizationHeader(challenge, { username: 'u', password: 'p' }, 'INVITE', 'sip:+1@h');
  assert.match(header, /^Digest username="u", realm="sip\.example", nonce="n1", uri="sip:\+1@h", response="[0-9a-f]{32}", algorithm=MD5, qop=auth, nc=00000001, cnonce="[0-9a-f]+", opaque="o1"$/);
  assert.equal(parseDigestChallenge('Basic realm="x"'), undefined);
});

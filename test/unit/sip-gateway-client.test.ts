/**
 * How the gateway client reports a dial that got no answer: retryable only when the
 * request cannot have reached the gateway. A gateway that took the request and then went
 * away may have sent the INVITE, and after its restart it would not know to skip it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SipGatewayClient } from '../../media/sip-gateway/client.js';
import { DialOutcomeUnknownError, GatewayUnreachableError } from '../../media/sip-gateway/errors.js';
import type { CreateSipParticipantRequest } from '../../media/sip-gateway/schemas.js';

const request: CreateSipParticipantRequest = {
  trunk: { address: '127.0.0.1:5999', numbers: ['+15550100000'] },
  callTo: '+15550100001',
  roomName: 'call-room',
  participantIdentity: 'callee',
  ringingTimeoutMs: 1_000,
  waitUntilAnswered: false,
};

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('a dial the gateway took and then dropped is of unknown outcome: not retryable, a failed attempt', async () => {
  const { server, url } = await serve((req) => req.on('data', () => undefined).on('end', () => req.socket.destroy()));
  try {
    const err = await new SipGatewayClient({ baseUrl: url }).createSipParticipant(request).catch((e: unknown) => e);
    assert.ok(err instanceof DialOutcomeUnknownError, String(err));
    assert.equal(err.retryable, false);
    assert.equal(err.failureType, 'SipFailed');
  } finally {
    server.close();
  }
});

test('a dial that answers with a gateway fault is of unknown outcome too', async () => {
  const { server, url } = await serve((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"type":"urn:kickcall:sip-gateway:internal","title":"boom","status":500}'));
  try {
    const err = await new SipGatewayClient({ baseUrl: url }).createSipParticipant(request).catch((e: unknown) => e);
    assert.ok(err instanceof DialOutcomeUnknownError, String(err));
  } finally {
    server.close();
  }
});

test('a dial refused at connect never reached the gateway: retryable', async () => {
  const { server, url } = await serve(() => undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const err = await new SipGatewayClient({ baseUrl: url }).createSipParticipant(request).catch((e: unknown) => e);
  assert.ok(err instanceof GatewayUnreachableError, String(err));
  assert.equal(err.retryable, true);
});

/**
 * How the gateway client reports a dial that got no answer: retryable only when the
 * request cannot have reached the gateway. A gateway that took the request and then went
 * away may have sent the INVITE, and after its restart it would not know to skip it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { SipGatewayClient } from '../../media/sip-gateway/client.js';
import { DialOutcomeUnknownError, GatewayUnreachableError } from '../../media/sip-gateway/errors.js';
import type { CreateSipParticipantRequest } from '../../media/sip-gateway/schemas.js';
import { waitFor } from '../helpers/async.js';

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

test('each dial goes out on a connection of its own, which closes with its answer: never an idle kept-alive one', async () => {
  const dialSockets: Socket[] = [];
  const { server, url } = await serve((req, res) => {
    dialSockets.push(req.socket);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ participantIdentity: 'callee', roomName: 'call-room', sipCallId: 'SCL_1' })));
  });
  // The gateway would keep an idle connection open for a minute.
  server.keepAliveTimeout = 60_000;
  try {
    const client = new SipGatewayClient({ baseUrl: url });
    await client.createSipParticipant(request);
    await client.createSipParticipant(request);
    assert.equal(dialSockets.length, 2);
    assert.notEqual(dialSockets[0], dialSockets[1], 'the second dial did not reuse the first one’s connection');
    await waitFor(() => Promise.resolve(dialSockets.every((s) => s.destroyed)), 2_000, 'a dial’s connection stayed open after its answer');
  } finally {
    server.closeAllConnections();
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

/** Where webhooks may not go: the address table, and the connect-time lookup that enforces it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardedLookup, isPrivateAddress, isPrivateHost, PrivateAddressError } from '../../activities/webhook-address.js';

test('internal addresses are refused in every spelling; public ones pass', () => {
  const inside = [
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '198.18.0.1', '224.0.0.1', '255.255.255.255', '192.0.0.8',
    '::1', '::', '[::1]', 'fd00::1', 'fc12::3', 'fe80::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::7f00:1',
    '2002:7f00:1::', '2002:a9fe:a9fe::1', '::ffff:0:7f00:1', '64:ff9b:1::a', 'fec0::1',
  ];
  for (const ip of inside) assert.equal(isPrivateAddress(ip), true, ip);
  const outside = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const ip of outside) assert.equal(isPrivateAddress(ip), false, ip);
  for (const host of ['localhost', 'api.localhost', 'db.internal', 'printer.local', 'LOCALHOST.', '[::1]', '10.0.0.1']) assert.equal(isPrivateHost(host), true, host);
  for (const host of ['hooks.example.com', '169.254.169.254.nip.io']) assert.equal(isPrivateHost(host), false, `${host}: only its resolution can tell`);
});

test('a name is refused at connect time when what it resolves to is internal', async () => {
  // `localhost` resolves from /etc/hosts: the same path as a public name pointing inside.
  const err = await new Promise<unknown>((resolve) => guardedLookup('localhost', {}, (e) => resolve(e)));
  assert.ok(err instanceof PrivateAddressError);
  const all = await new Promise<unknown>((resolve) => guardedLookup('localhost', { all: true }, (e) => resolve(e)));
  assert.ok(all instanceof PrivateAddressError);
});

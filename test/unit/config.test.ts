import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../deploy/config.js';
import { createApiServer } from '../../api/server.js';

const secrets = { LIVEKIT_API_KEY: 'kcKey', LIVEKIT_API_SECRET: 'x'.repeat(40), KICKCALL_STACK_DIR: '/nonexistent/stack' };

test('defaults describe the loopback stack', () => {
  const c = loadConfig({ ...secrets });
  assert.equal(c.temporal.address, '127.0.0.1:7233');
  assert.equal(c.temporal.uiUrl, 'http://127.0.0.1:8233');
  assert.equal(c.nats.url, 'nats://127.0.0.1:4222');
  assert.equal(c.livekit.wsUrl, 'ws://127.0.0.1:7880');
  assert.equal(c.livekit.httpUrl, 'http://127.0.0.1:7880');
  assert.equal(c.api.livekitWebhookUrl, 'http://127.0.0.1:8080/v1/livekit/webhook');
  assert.equal(c.paths.binDir, '/nonexistent/stack/bin');
});

test('every port and URL follows its variable', () => {
  const c = loadConfig({ ...secrets, KICKCALL_HOST: '::1', TEMPORAL_PORT: '17233', NATS_URL: 'nats://nats.internal:4222', API_PUBLIC_URL: 'https://kc.example.com' });
  assert.equal(c.temporal.address, '::1:17233');
  assert.equal(c.nats.url, 'nats://nats.internal:4222');
  assert.equal(c.api.livekitWebhookUrl, 'https://kc.example.com/v1/livekit/webhook');
});

test('an invalid setting is a ConfigError naming every offending variable', () => {
  assert.throws(
    () => loadConfig({ ...secrets, NATS_PORT: 'four', REDIS_PORT: '70000' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues.some((i) => i.startsWith('NATS_PORT:')) &&
      err.issues.some((i) => i.startsWith('REDIS_PORT:')),
  );
});

test('a port range that runs backwards is refused', () => {
  assert.throws(
    () => loadConfig({ ...secrets, SIP_RTP_PORT_START: '20000', SIP_RTP_PORT_END: '10000' }),
    (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.startsWith('SIP_RTP_PORT_START:')),
  );
});

test('secrets have no defaults: production without them fails, naming both', () => {
  assert.throws(
    () => loadConfig({ KICKCALL_PROFILE: 'production' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues.some((i) => i.startsWith('LIVEKIT_API_KEY:')) &&
      err.issues.some((i) => i.startsWith('LIVEKIT_API_SECRET:')),
  );
  assert.throws(() => loadConfig({ LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'short' }), /at least 32 characters/);
});

test('the erasure key: at least 32 characters, and the API refuses to start without one', () => {
  assert.throws(() => loadConfig({ ...secrets, KICKCALL_ERASURE_KEY: 'short' }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.startsWith('KICKCALL_ERASURE_KEY:')));
  assert.equal(loadConfig({ ...secrets, KICKCALL_ERASURE_KEY: 'k'.repeat(32) }).api.erasureKey, 'k'.repeat(32));
  const keyless = loadConfig({ ...secrets, KICKCALL_PROFILE: 'production' });
  assert.equal(keyless.api.erasureKey, undefined, 'other processes run without it');
  // Refused before it touches any of its dependencies.
  const unused = {} as never;
  assert.throws(
    () => createApiServer({ config: keyless, db: unused, redis: unused, temporal: unused, log: unused }),
    (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.startsWith('KICKCALL_ERASURE_KEY:')),
  );
});

test('the stack manager may read config before secrets exist', () => {
  const c = loadConfig({ KICKCALL_STACK_DIR: '/nonexistent/stack' }, { requireSecrets: false });
  assert.equal(c.livekit.apiKey, '');
});

test('providers default to the local simulators; a key switches each to its configured service', () => {
  const sim = loadConfig({ ...secrets });
  assert.equal(sim.providers.deepgram.sttBaseUrl, 'ws://127.0.0.1:8091');
  assert.equal(sim.providers.deepgram.ttsBaseUrl, 'http://127.0.0.1:8091');
  assert.equal(sim.providers.deepgram.simulated, true);
  assert.equal(sim.providers.openai.baseUrl, 'http://127.0.0.1:8092/v1');
  assert.equal(sim.providers.openai.simulated, true);

  const real = loadConfig({ ...secrets, DEEPGRAM_URL: 'https://dg.internal:8443', DEEPGRAM_API_KEY: 'dg', OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: 'https://llm.internal/v1' });
  assert.equal(real.providers.deepgram.sttBaseUrl, 'wss://dg.internal:8443');
  assert.equal(real.providers.deepgram.ttsBaseUrl, 'https://dg.internal:8443');
  assert.equal(real.providers.deepgram.simulated, false);
  assert.equal(real.providers.openai.baseUrl, 'https://llm.internal/v1');
  assert.equal(real.providers.openai.simulated, false);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidCallConfigError, parseCallConfig, salvageCallKey } from '../../media/agent/call-config.js';

const valid = {
  v: 1,
  callId: 'acme_c1_k9_a1',
  tenantId: 'acme',
  persona: { instructions: 'You are Ava from Acme Dental.', greeting: 'Hi, this is Ava from Acme Dental.' },
};

test('minimal metadata gets explicit defaults', () => {
  const c = parseCallConfig(JSON.stringify(valid));
  assert.equal(c.voice, 'aura-2-andromeda-en');
  assert.equal(c.language, 'en-US');
  assert.equal(c.fallback, 'hangup');
  assert.equal(c.transfer.allowed, false);
  assert.ok(c.tools.includes('do_not_call'));
  assert.equal(c.resume, undefined);
});

test('a resumed call carries its turns and next seq', () => {
  const c = parseCallConfig(JSON.stringify({ ...valid, resume: { turns: [{ role: 'agent', text: 'Hi' }, { role: 'user', text: 'Hello' }], nextSeq: 7 } }));
  assert.equal(c.resume?.nextSeq, 7);
  assert.equal(c.resume?.turns.length, 2);
});

test('bad metadata is one clear error listing every problem', () => {
  const bad = { ...valid, callId: '+14155550100', voice: 'alloy', tools: ['format_disk'], extra: true };
  assert.throws(
    () => parseCallConfig(JSON.stringify(bad)),
    (err: unknown) => {
      if (!(err instanceof InvalidCallConfigError)) return false;
      const fields = err.issues.map((i) => i.split(':')[0]);
      return ['callId', 'voice', 'tools.0', '(root)'].every((f) => fields.includes(f));
    },
  );
  assert.throws(() => parseCallConfig('{not json'), /metadata is not JSON/);
  assert.equal(salvageCallKey(JSON.stringify(bad)), undefined, 'a phone number is never used as a call ID');
  assert.deepEqual(salvageCallKey(JSON.stringify({ ...valid, voice: 1 })), { callId: 'acme_c1_k9_a1', nextSeq: 1 });
  assert.deepEqual(salvageCallKey(JSON.stringify({ ...valid, voice: 1, resume: { turns: 'x', nextSeq: 12 } })), { callId: 'acme_c1_k9_a1', nextSeq: 12 });
});

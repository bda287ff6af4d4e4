import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llm } from '@livekit/agents';
import { parseCallConfig } from '../../media/agent/call-config.js';
import { strictToolSchema } from '../../media/agent/session.js';
import { createTools, warmToolSchemas } from '../../media/agent/tools.js';

const call = parseCallConfig(
  JSON.stringify({ v: 1, callId: 'acme_c1_k9_a1', tenantId: 'acme', persona: { instructions: 'You are Ava.', greeting: 'Hi, this is Ava.' } }),
);
const hooks = { report: () => Promise.resolve(true), endAfter: () => undefined };

test('prewarm converts exactly the argument schemas the LLM is sent', () => {
  const warmed = warmToolSchemas();
  const tools = createTools(call, hooks);
  assert.deepEqual(Object.keys(warmed).sort(), Object.keys(tools).sort(), 'every tool of a default call, no other');
  for (const [name, tool] of llm.sortedToolEntries(llm.toToolContext(tools))) {
    // As LiveKit Agents' OpenAI stream converts each tool for a request (inference/llm.js).
    const sent = llm.toJsonSchema(tool.parameters, true, strictToolSchema);
    assert.deepEqual(warmed[name as keyof typeof warmed], sent, `${name}: the warmed schema is the one requests carry`);
  }
});

test('the LLM is told which arguments each tool needs', () => {
  const warmed = warmToolSchemas() as Record<string, { properties?: Record<string, { type: string; description?: string }>; required?: string[] }>;
  assert.deepEqual(warmed.record_answer?.required?.sort(), ['field', 'value']);
  assert.equal(warmed.schedule_callback?.properties?.when?.type, 'string');
  assert.match(warmed.schedule_callback?.properties?.when?.description ?? '', /ISO 8601/, 'descriptions reach the LLM');
  assert.deepEqual(Object.keys(warmed.do_not_call?.properties ?? {}), [], 'the opt-out takes no arguments');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { llm } from '@livekit/agents';
import { parseCallConfig } from '../../media/agent/call-config.js';
import { strictToolSchema } from '../../media/agent/session.js';
import { createTools, toolParameters, warmToolSchemas, type ToolHooks } from '../../media/agent/tools.js';

const call = parseCallConfig(
  JSON.stringify({ v: 1, callId: 'acme_c1_k9_a1', tenantId: 'acme', persona: { instructions: 'You are Ava.', greeting: 'Hi, this is Ava.' } }),
);

function recordingHooks() {
  const reports: { name: string; args: Record<string, unknown> }[] = [];
  const hooks: ToolHooks = {
    report: (name, _toolCallId, args) => {
      reports.push({ name, args });
      return Promise.resolve(true);
    },
    endAfter: () => undefined,
  };
  return { hooks, reports };
}

/** Runs a tool as the voice pipeline does: the LLM's arguments, already JSON-parsed. */
function run(tool: unknown, args: unknown): Promise<unknown> {
  const { execute } = tool as { execute: (args: unknown, opts: { toolCallId: string; ctx: unknown }) => Promise<unknown> };
  return execute(args, { toolCallId: 'call_1', ctx: {} });
}

test('tools carry their argument schemas as JSON Schema, converted once as LiveKit Agents would convert the zod ones', () => {
  const warmed = warmToolSchemas();
  const first = createTools(call, recordingHooks().hooks);
  const again = createTools(call, recordingHooks().hooks);
  assert.deepEqual(Object.keys(warmed).sort(), Object.keys(first).sort(), 'every tool of a default call, no other');
  for (const [name, tool] of llm.sortedToolEntries(llm.toToolContext(first))) {
    const key = name as keyof typeof toolParameters;
    assert.ok(!('_zod' in tool.parameters), `${name}: a plain schema, so requests do not convert it again`);
    // What the framework's OpenAI stream would have sent for the zod schema (inference/llm.js).
    assert.deepEqual(tool.parameters, llm.toJsonSchema(toolParameters[key], true, strictToolSchema), `${name}: the same schema reaches the LLM`);
    assert.equal(tool.parameters, (again as Record<string, { parameters: unknown }>)[name]?.parameters, `${name}: converted once per process, not per call`);
  }
});

test('the LLM is told which arguments each tool needs', () => {
  const warmed = warmToolSchemas() as Record<string, { properties?: Record<string, { type: string; description?: string }>; required?: string[] }>;
  assert.deepEqual(warmed.record_answer?.required?.sort(), ['field', 'value']);
  assert.equal(warmed.schedule_callback?.properties?.when?.type, 'string');
  assert.match(warmed.schedule_callback?.properties?.when?.description ?? '', /ISO 8601/, 'descriptions reach the LLM');
  assert.deepEqual(Object.keys(warmed.do_not_call?.properties ?? {}), [], 'the opt-out takes no arguments');
});

test('a tool called with bad arguments answers the LLM with a tool error and reports nothing', async () => {
  const { hooks, reports } = recordingHooks();
  const tools = createTools(call, hooks);
  await assert.rejects(run(tools.record_answer, { field: 'budget', value: 12 }), (err: unknown) => {
    assert.ok(err instanceof llm.ToolError, 'a ToolError: the framework hands its message back to the LLM');
    assert.match(err.message, /^Invalid arguments for record_answer: /);
    return true;
  });
  await assert.rejects(run(tools.schedule_callback, {}), llm.ToolError, 'a missing argument too');
  assert.deepEqual(reports, [], 'no event for a call that never happened');
});

test('a tool called with good arguments reports exactly them', async () => {
  const { hooks, reports } = recordingHooks();
  const tools = createTools(call, hooks);
  assert.equal(await run(tools.record_answer, { field: 'budget', value: 'about 500' }), 'Recorded.');
  assert.equal(await run(tools.schedule_callback, { when: 'tomorrow at 10' }), 'Callback recorded. Confirm the time to the caller briefly.');
  assert.deepEqual(reports, [
    { name: 'record_answer', args: { field: 'budget', value: 'about 500' } },
    { name: 'schedule_callback', args: { when: 'tomorrow at 10' } },
  ]);
});

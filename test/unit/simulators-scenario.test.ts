/** The OpenAI simulator's rule table: what the scripted agent does for each kind of line. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, scenarios, type ChatMessage } from '../../media/simulators/scenario-rules.js';

const sales = scenarios.outbound_sales!;
const allTools = ['transfer_to_human', 'end_call', 'do_not_call', 'voicemail_detected', 'schedule_callback', 'record_answer'];

function afterOpening(userText: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You are a sales agent.' },
    { role: 'assistant', content: sales.opening },
    { role: 'user', content: userText },
  ];
}

const cases: Array<[string, string, Record<string, unknown>]> = [
  ['Can I speak to a human, please?', 'transfer_to_human', { reason: 'caller asked for a human' }],
  ['I want to talk to a real person.', 'transfer_to_human', { reason: 'caller asked for a human' }],
  ['No thanks, I am not interested. Goodbye.', 'end_call', { reason: 'not interested' }],
  ['Okay, bye.', 'end_call', { reason: 'caller ended the call' }],
  ['Please remove me from your list and do not call me again.', 'do_not_call', {}],
  ["Don't call me again.", 'do_not_call', {}],
  ['Hi, you have reached Sam. Please leave a message after the tone.', 'voicemail_detected', {}],
  ['I am busy right now. Call me back tomorrow at 3 pm.', 'schedule_callback', { when: 'tomorrow at 3 pm' }],
  ['Yes, that sounds interesting. Tell me more.', 'record_answer', { field: 'interested', value: 'yes' }],
];

for (const [said, tool, args] of cases) {
  test(`"${said}" → ${tool}`, () => {
    const d = decide({ messages: afterOpening(said), tools: allTools, scenario: sales });
    assert.equal(d.kind, 'tool');
    assert.ok(d.kind === 'tool');
    assert.equal(d.name, tool);
    assert.deepEqual(d.args, args);
  });
}

test('compliance outranks ending the call: "not interested, remove me" is do-not-call', () => {
  const d = decide({ messages: afterOpening('Not interested. Remove me from your list.'), tools: allTools, scenario: sales });
  assert.ok(d.kind === 'tool' && d.name === 'do_not_call');
});

test('without tools the agent says the hand-off instead of calling it', () => {
  const d = decide({ messages: afterOpening('Can I speak to a human, please?'), tools: [], scenario: sales });
  assert.deepEqual(d.kind, 'text');
  assert.ok(d.kind === 'text' && /colleague/i.test(d.text));
});

test('a tool is only called when offered: transfer missing falls back to speech', () => {
  const d = decide({ messages: afterOpening('Can I speak to a human, please?'), tools: ['end_call'], scenario: sales });
  assert.equal(d.kind, 'text');
});

test('no caller message yet: the agent opens the call', () => {
  const d = decide({ messages: [{ role: 'system', content: 'Greet the caller.' }], tools: allTools, scenario: sales });
  assert.deepEqual(d, { kind: 'text', text: sales.opening, rule: 'opening' });
});

test('after a tool result the agent says one closing line for that tool', () => {
  const messages: ChatMessage[] = [
    ...afterOpening('Can I speak to a human, please?'),
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'transfer_to_human', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'transferring' },
  ];
  const d = decide({ messages, tools: allTools, scenario: sales });
  assert.ok(d.kind === 'text' && /connecting you/i.test(d.text), JSON.stringify(d));
});

test('after record_answer the agent asks the next question', () => {
  const messages: ChatMessage[] = [
    ...afterOpening('Yes, that sounds interesting.'),
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_2', function: { name: 'record_answer', arguments: '{"field":"interested","value":"yes"}' } }],
    },
    { role: 'tool', tool_call_id: 'call_2', content: 'ok' },
  ];
  const d = decide({ messages, tools: allTools, scenario: sales });
  assert.ok(d.kind === 'text' && d.text.includes(sales.questions[1]!.question), JSON.stringify(d));
});

test('a spoken email is captured as an address', () => {
  const messages: ChatMessage[] = [
    { role: 'assistant', content: sales.questions[1]!.question },
    { role: 'user', content: 'It is sam at example dot com.' },
  ];
  const d = decide({ messages, tools: allTools, scenario: sales });
  assert.deepEqual(d.kind === 'tool' && d.args, { field: 'email', value: 'sam@example.com' });
});

test('an unmatched question gets a short relevant reply that keeps the call going', () => {
  const d = decide({ messages: afterOpening('How much does it cost?'), tools: allTools, scenario: sales });
  assert.ok(d.kind === 'text' && d.text.startsWith(sales.price), JSON.stringify(d));
});

test('scenarios differ in opening and captured fields', () => {
  const survey = scenarios.customer_survey!;
  const d = decide({ messages: [], tools: allTools, scenario: survey });
  assert.ok(d.kind === 'text' && d.text === survey.opening);
  const yes = decide({
    messages: [{ role: 'assistant', content: survey.opening }, { role: 'user', content: 'Sure.' }],
    tools: allTools,
    scenario: survey,
  });
  assert.deepEqual(yes.kind === 'tool' && yes.args, { field: 'consent', value: 'yes' });
});

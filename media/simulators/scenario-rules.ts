/**
 * What the OpenAI simulator "thinks": a readable rule table over the conversation the
 * client sends. The first rule whose pattern matches the caller's last message wins.
 * A rule names the tool it calls when the client offers that tool, and what the agent
 * says instead when it does not. After a tool result the agent says one short line
 * (a closing, or the next question); with no caller message yet it opens the call.
 *
 * Scenarios differ in their opening and the questions they capture answers to; the
 * compliance and hand-off rules are the same for all.
 */

export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: Array<{ id: string; type?: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export type Decision =
  | { kind: 'text'; text: string; rule: string }
  | { kind: 'tool'; name: string; args: Record<string, unknown>; rule: string };

export interface CaptureQuestion {
  /** Field name passed to `record_answer`. */
  field: string;
  /** What the agent asks. */
  question: string;
  /** Recognises the question in the agent's last message. */
  asked: RegExp;
  /** Turns the caller's answer into the recorded value. */
  value: (answer: string) => string;
}

export interface Scenario {
  id: string;
  agentName: string;
  company: string;
  opening: string;
  /** Asked in order; each answer is recorded, then the next question follows. */
  questions: CaptureQuestion[];
  /** What the agent leaves on a voicemail. */
  voicemailMessage: string;
  pitch: string;
  price: string;
}

const yesNo = (answer: string): string => (/\b(no|nope|not)\b/i.test(answer) ? 'no' : /\b(yes|yeah|sure|ok|okay|interest)/i.test(answer) ? 'yes' : answer.trim());

/** "sam at example dot com" → "sam@example.com"; anything else as said. */
const spokenEmail = (answer: string): string => {
  const m = answer.toLowerCase().match(/([a-z0-9._-]+)\s+(?:at|@)\s+([a-z0-9-]+)\s+(?:dot|\.)\s+([a-z]{2,})/);
  return m ? `${m[1]}@${m[2]}.${m[3]}` : answer.trim();
};

const asSaid = (answer: string): string => answer.trim().replace(/[.!?]+$/, '');

export const scenarios: Record<string, Scenario> = {
  outbound_sales: {
    id: 'outbound_sales',
    agentName: 'Alex',
    company: 'Kickcall Energy',
    opening: 'Hi, this is Alex from Kickcall Energy. We help households lower their power bills. Would you be interested in a free quote?',
    questions: [
      { field: 'interested', question: 'Would you be interested in a free quote?', asked: /interested in a (free )?quote/i, value: yesNo },
      { field: 'email', question: 'What is the best email to send your quote to?', asked: /\bemail\b/i, value: spokenEmail },
      { field: 'best_time', question: 'And when is the best time to reach you?', asked: /best time to reach/i, value: asSaid },
    ],
    voicemailMessage: 'Hi, this is Alex from Kickcall Energy, calling about lowering your power bill. Please call us back when you can. Goodbye.',
    pitch: 'We compare plans from local suppliers and switch you to a cheaper one.',
    price: 'The quote is completely free, and there is no obligation.',
  },
  customer_survey: {
    id: 'customer_survey',
    agentName: 'Alex',
    company: 'Kickcall Research',
    opening: 'Hi, this is Alex from Kickcall Research with a one minute survey about your recent delivery. Do you have a moment?',
    questions: [
      { field: 'consent', question: 'Do you have a moment?', asked: /have a moment/i, value: yesNo },
      { field: 'satisfaction', question: 'On a scale of one to five, how satisfied were you?', asked: /scale of one to five/i, value: asSaid },
      { field: 'recommend', question: 'Would you recommend us to a friend?', asked: /recommend us/i, value: yesNo },
    ],
    voicemailMessage: 'Hi, this is Alex from Kickcall Research with a short survey. We will try again another time. Goodbye.',
    pitch: 'It takes about a minute, and it helps us improve our deliveries.',
    price: 'There is no cost to you at all.',
  },
};

export const defaultScenarioId = 'outbound_sales';

interface Rule {
  name: string;
  /** Matches the caller's last message. */
  when: RegExp;
  tool: string;
  args: (said: string) => Record<string, unknown>;
  /** Said when the tool is not offered. */
  instead: (s: Scenario) => string;
}

/** Order matters: compliance first, then hand-offs, then the end of the call. */
export const rules: readonly Rule[] = [
  {
    name: 'voicemail',
    when: /leave (me )?(a|your) message|after the (tone|beep)|voice ?mail|can(no|')t take your call|not available to take/i,
    tool: 'voicemail_detected',
    args: () => ({}),
    instead: (s) => s.voicemailMessage,
  },
  {
    name: 'do_not_call',
    when: /do(n'?t| not) call|remove me from|take me off|stop calling|never call/i,
    tool: 'do_not_call',
    args: () => ({}),
    instead: () => 'Understood. We will not call you again. Goodbye.',
  },
  {
    name: 'human',
    when: /\b(speak|talk) (to|with) (a |an |someone|somebody|real )?(human|person|agent|representative|manager|someone|somebody)|real person|\boperator\b|human,? please/i,
    tool: 'transfer_to_human',
    args: () => ({ reason: 'caller asked for a human' }),
    instead: () => 'Of course. Let me get a colleague for you.',
  },
  {
    name: 'callback',
    when: /call (me )?back|call me (later|tomorrow|next)|try (me )?(again )?(later|tomorrow)/i,
    tool: 'schedule_callback',
    args: (said) => ({ when: callbackTime(said) }),
    instead: () => 'No problem, we will call you back then.',
  },
  {
    name: 'end_call',
    when: /not interested|no,? thanks|no thank you|\bgood ?bye\b|\bbye\b|hang up|leave me alone/i,
    tool: 'end_call',
    args: (said) => ({ reason: /not interested|no,? thank/i.test(said) ? 'not interested' : 'caller ended the call' }),
    instead: () => 'No problem. Thanks for your time, goodbye.',
  },
];

/** Short lines for after each tool's result. */
const afterTool: Record<string, (s: Scenario) => string> = {
  transfer_to_human: () => 'Of course. I am connecting you with a colleague now, please hold.',
  end_call: () => 'No problem. Thanks for your time, goodbye.',
  do_not_call: () => 'Understood. I have removed your number and we will not call again. Goodbye.',
  voicemail_detected: (s) => s.voicemailMessage,
  schedule_callback: () => 'Great, I will call you back then. Talk soon.',
};

export function messageText(m: ChatMessage | undefined): string {
  if (!m?.content) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => p.text ?? '').join(' ');
}

function callbackTime(said: string): string {
  const m = said.match(/\b(tomorrow|today|tonight|next \w+|on \w+day|this \w+)\b(.*?)(?:[.!?]|$)/i);
  return m ? `${m[1]}${m[2] ?? ''}`.trim() : 'later';
}

export interface DecideInput {
  messages: ChatMessage[];
  /** Names of the tools the client offered (empty when none or `tool_choice: "none"`). */
  tools: string[];
  scenario: Scenario;
}

export function decide({ messages, tools, scenario }: DecideInput): Decision {
  const offered = new Set(tools);
  const last = messages[messages.length - 1];

  if (last?.role === 'tool') return replyAfterTool(messages, scenario);

  const lastUserIndex = messages.map((m) => m.role).lastIndexOf('user');
  if (lastUserIndex < 0) return { kind: 'text', text: scenario.opening, rule: 'opening' };
  const said = messageText(messages[lastUserIndex]).trim();

  for (const rule of rules) {
    if (!rule.when.test(said)) continue;
    if (offered.has(rule.tool)) return { kind: 'tool', name: rule.tool, args: rule.args(said), rule: rule.name };
    return { kind: 'text', text: rule.instead(scenario), rule: rule.name };
  }

  const asked = lastAgentText(messages.slice(0, lastUserIndex));
  const question = scenario.questions.find((q) => q.asked.test(asked));
  // A question back ("How much does it cost?") is not an answer to ours.
  const isQuestion = /\?\s*$/.test(said) || /^(how|what|who|why|when|where|which|can|could|is|are|do|does)\b/i.test(said);
  if (question && said !== '' && !isQuestion) {
    if (offered.has('record_answer')) {
      return { kind: 'tool', name: 'record_answer', args: { field: question.field, value: question.value(said) }, rule: 'record_answer' };
    }
    return { kind: 'text', text: `Thank you. ${nextQuestionAfter(scenario, question.field)}`, rule: 'record_answer' };
  }

  return { kind: 'text', text: smallTalk(said, scenario, asked), rule: 'reply' };
}

function replyAfterTool(messages: ChatMessage[], scenario: Scenario): Decision {
  const result = messages[messages.length - 1]!;
  const call = messages.flatMap((m) => m.tool_calls ?? []).find((c) => c.id === result.tool_call_id);
  const name = call?.function.name ?? '';
  if (name === 'record_answer') {
    let field = '';
    try {
      const parsed = (JSON.parse(call?.function.arguments ?? '{}') as { field?: unknown }).field;
      field = typeof parsed === 'string' ? parsed : '';
    } catch {
      field = '';
    }
    return { kind: 'text', text: nextQuestionAfter(scenario, field), rule: 'after_record_answer' };
  }
  const line = afterTool[name];
  return { kind: 'text', text: line ? line(scenario) : 'Done. Is there anything else I can help with?', rule: `after_${name || 'tool'}` };
}

function nextQuestionAfter(scenario: Scenario, field: string): string {
  const i = scenario.questions.findIndex((q) => q.field === field);
  const next = scenario.questions[i + 1];
  return next ? `Great. ${next.question}` : 'Thank you, that is everything I needed. Have a great day.';
}

function lastAgentText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'assistant' && messageText(m)) return messageText(m);
  }
  return '';
}

function smallTalk(said: string, scenario: Scenario, asked: string): string {
  const pending = scenario.questions.find((q) => q.asked.test(asked))?.question ?? scenario.questions[0]?.question ?? '';
  if (said === '') return `Sorry, I did not catch that. ${pending}`;
  if (/how much|cost|price|expensive|fee/i.test(said)) return `${scenario.price} ${pending}`;
  if (/who (is this|are you)|what company|who'?s calling/i.test(said)) return `This is ${scenario.agentName} from ${scenario.company}. ${pending}`;
  if (/\b(wait|hold on|one (sec|second|moment))\b/i.test(said)) return 'Of course, take your time.';
  if (/^(hello|hi|hey)\b/i.test(said)) return scenario.opening;
  if (/tell me more|what is (this|it) about|\?$/i.test(said)) return `${scenario.pitch} ${pending}`;
  return `I see. ${pending}`;
}

/**
 * Test-only workflows that record what the LiveKit webhook receiver sends them, so tests
 * assert the exact signal rather than a call's reaction to it. Bundled only by tests.
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import type { InboundCallStart } from '../../workflows/inbound-start.js';
import { roomEventSignal, type RoomEventSignal } from '../../workflows/messages.js';

/** The room events received so far. */
export const receivedQuery = defineQuery<RoomEventSignal[]>('received');
/** Ends `inboundCallWorkflow`, which otherwise waits for more deliveries. */
export const finishSignal = defineSignal('finish');

/** Waits for `count` room events and returns them in arrival order. */
export async function roomEventsWorkflow(input: { count: number }): Promise<RoomEventSignal[]> {
  const received: RoomEventSignal[] = [];
  setHandler(roomEventSignal, (event) => void received.push(event));
  setHandler(receivedQuery, () => received);
  await condition(() => received.length >= input.count);
  return received;
}

export interface RecordedInboundStart {
  start: InboundCallStart;
  events: RoomEventSignal[];
}

/** Stands in for the product's inbound call workflow under the same type name. */
export async function inboundCallWorkflow(start: InboundCallStart): Promise<RecordedInboundStart> {
  const events: RoomEventSignal[] = [];
  let finished = false;
  setHandler(roomEventSignal, (event) => void events.push(event));
  setHandler(receivedQuery, () => events);
  setHandler(finishSignal, () => void (finished = true));
  await condition(() => finished);
  return { start, events };
}

/**
 * The bridge benchmark's stand-in for a call workflow: it takes the call events the bridge
 * signals, as a call workflow does, and answers which seqs arrived, in arrival order.
 */
import { condition, defineQuery, setHandler } from '@temporalio/workflow';
import { callEventSignal } from '../../workflows/messages.js';

export const arrivedQuery = defineQuery<number[]>('arrived');

export async function bridgeSinkWorkflow(): Promise<void> {
  const arrived: number[] = [];
  setHandler(callEventSignal, (event) => void arrived.push(event.seq));
  setHandler(arrivedQuery, () => arrived);
  // Open until the benchmark terminates it, like a call in conversation.
  await condition(() => false);
}

/**
 * Saved workflow histories for replay tests. With KICKCALL_RECORD_HISTORIES=1, the
 * workflow and end-to-end tests save the history of each scenario they run to
 * test/histories/<name>.json (commit them); test/unit/replay-histories.test.ts replays
 * every saved history against today's workflow code, so a change that breaks
 * determinism for calls already running fails the build.
 *
 * protobufjs 8 is a direct dependency so the Temporal packages share one copy of it:
 * with copies nested per package, history JSON conversion fails ("type must be a Type").
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { repoRoot } from '../../deploy/config.js';

export const historiesDir = path.join(repoRoot, 'test', 'histories');

export async function saveHistoryIfRecording(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.KICKCALL_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  // The workflow ID is not in the history, and call workflows check theirs: keep it alongside.
  const saved = `{"workflowId":${JSON.stringify(handle.workflowId)},"history":${JSON.stringify(JSON.parse(historyToJSON(history)))}}\n`;
  writeFileSync(path.join(historiesDir, `${name}.json`), saved);
}

/**
 * Names derived from a workflow ID, so retries and replays address the same room and
 * participant. Workflow IDs carry no PII, so neither do these.
 */

/** LiveKit room names allow letters, digits, `-`, `_`, `.`; anything else becomes `_`. */
export function roomNameFor(workflowId: string): string {
  return `call_${workflowId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** The callee's participant identity in the call's room. */
export function calleeIdentityFor(workflowId: string, attempt = 1): string {
  return `sip_callee_${attempt}_${workflowId.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
}

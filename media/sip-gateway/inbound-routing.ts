/**
 * Inbound routing, in LiveKit SIP's model: an inbound trunk says which dialled numbers
 * (and, optionally, which source addresses) belong to which tenant; a dispatch rule says
 * which room a call on those trunks goes to (`<prefix>_<tenant>_<random>`) and what the
 * room's metadata is (the agent's configuration, read by the inbound call workflow).
 * Kept in memory, loaded from a JSON file at start when one is configured.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 number');
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, "-" or "_"');

export const inboundTrunkSchema = z
  .object({
    trunkId: id,
    tenantId: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'expected 1-40 letters, digits or "-"'),
    numbers: z.array(e164).min(1),
    /** Source IPs allowed to send calls on this trunk; any when absent. */
    allowedAddresses: z.array(z.ipv4().or(z.ipv6())).optional(),
  })
  .strict();
export type InboundTrunk = z.infer<typeof inboundTrunkSchema>;

export const dispatchRuleSchema = z
  .object({
    ruleId: id,
    trunkIds: z.array(id).min(1),
    /** Room names start with this; the inbound call workflow expects `call_inbound`. */
    roomPrefix: z.string().regex(/^[A-Za-z0-9_]{1,40}$/).default('call_inbound'),
    /** Opaque to the gateway: becomes the room's metadata. */
    metadata: z.string().max(64 * 1024).default(''),
  })
  .strict();
export type DispatchRule = z.infer<typeof dispatchRuleSchema>;

export const inboundRoutesFileSchema = z.object({
  trunks: z.array(inboundTrunkSchema).default([]),
  rules: z.array(dispatchRuleSchema).default([]),
});

export type RouteMatch =
  | { ok: true; trunk: InboundTrunk; rule: DispatchRule; roomName: string; callToken: string }
  | { ok: false; reason: 'no_trunk' | 'no_rule' };

/** Normalises a Request-URI user part to E.164 (`15550100200` → `+15550100200`). */
export function dialledNumber(userPart: string): string {
  const digits = userPart.replace(/[^\d+]/g, '');
  return digits.startsWith('+') ? digits : `+${digits}`;
}

export class InboundRoutes {
  private readonly trunks = new Map<string, InboundTrunk>();
  private readonly rules = new Map<string, DispatchRule>();

  upsertTrunk(trunk: InboundTrunk): void {
    this.trunks.set(trunk.trunkId, trunk);
  }
  upsertRule(rule: DispatchRule): void {
    this.rules.set(rule.ruleId, rule);
  }
  deleteTrunk(trunkId: string): boolean {
    return this.trunks.delete(trunkId);
  }
  deleteRule(ruleId: string): boolean {
    return this.rules.delete(ruleId);
  }
  listTrunks(): InboundTrunk[] {
    return [...this.trunks.values()];
  }
  listRules(): DispatchRule[] {
    return [...this.rules.values()];
  }

  /** Which trunk and rule take a call to `number` from `sourceHost`, and its room. */
  match(number: string, sourceHost: string): RouteMatch {
    const trunk = [...this.trunks.values()].find(
      (t) => t.numbers.includes(number) && (t.allowedAddresses === undefined || t.allowedAddresses.includes(sourceHost)),
    );
    if (!trunk) return { ok: false, reason: 'no_trunk' };
    const rule = [...this.rules.values()].find((r) => r.trunkIds.includes(trunk.trunkId));
    if (!rule) return { ok: false, reason: 'no_rule' };
    // Random, never derived from the caller's number: room names are visible to everyone.
    const callToken = randomBytes(8).toString('hex');
    return { ok: true, trunk, rule, roomName: `${rule.roomPrefix}_${trunk.tenantId}_${callToken}`, callToken };
  }
}

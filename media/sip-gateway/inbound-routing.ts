/**
 * Inbound routing, in LiveKit SIP's model: an inbound trunk says which dialled numbers
 * (and, optionally, which source addresses) belong to which tenant; a dispatch rule says
 * which room a call on those trunks goes to (`<prefix>_<tenant>_<random>`) and what the
 * room's metadata is (the agent's configuration, read by the inbound call workflow).
 *
 * Kept in memory. A JSON file of trunks and rules (`SIP_INBOUND_ROUTES_FILE`) is loaded at
 * start; changes through the control API are not written back to it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BlockList, isIPv6 } from 'node:net';
import { InboundRouteConflictError, InvalidRequestError } from './errors.js';
import { inboundRoutesFileSchema, type DispatchRule, type InboundTrunk } from './schemas.js';

export type RouteMatch =
  | {
      ok: true;
      trunk: InboundTrunk;
      rule: DispatchRule;
      roomName: string;
      /** 16 random hex characters shared by the room name and the caller's identity. */
      callToken: string;
    }
  | { ok: false; reason: 'no_trunk' | 'no_rule' };

/**
 * The dialled number of a Request-URI user part (or a `tel:` number) in E.164:
 * `15550100200` → `+15550100200`; visual separators and URI parameters are dropped.
 * Anything that is not a number comes back unchanged and matches no trunk.
 */
export function dialledNumber(userPart: string): string {
  let number: string;
  try {
    number = decodeURIComponent(userPart.split(';')[0] ?? '').replace(/[\s().-]/g, '');
  } catch {
    return userPart; // a malformed escape: not a number
  }
  if (!/^\+?\d+$/.test(number)) return userPart;
  return number.startsWith('+') ? number : `+${number}`;
}

/** The room an inbound call lands in and its random part (never derived from the caller). */
export function inboundRoomName(rule: DispatchRule, trunk: InboundTrunk): { roomName: string; callToken: string } {
  const callToken = randomBytes(8).toString('hex');
  return { roomName: `${rule.roomPrefix}_${trunk.tenantId}_${callToken}`, callToken };
}

/** The caller's participant identity: `sip_caller_<the room's random part>`. */
export function inboundCallerIdentity(callToken: string): string {
  return `sip_caller_${callToken}`;
}

interface TrunkEntry {
  trunk: InboundTrunk;
  /** Allowed sources; undefined when any source may call. */
  sources: BlockList | undefined;
}

export class InboundRoutes {
  private readonly trunks = new Map<string, TrunkEntry>();
  private readonly rules = new Map<string, DispatchRule>();

  /** Loads and validates a routes file; a bad file is an error, never a partial load. */
  static async fromFile(file: string): Promise<InboundRoutes> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InvalidRequestError(`The inbound routes file ${file} cannot be read as JSON`, [], { cause: err });
    }
    const parsed = inboundRoutesFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new InvalidRequestError(`The inbound routes file ${file} is invalid`, issues);
    }
    const routes = new InboundRoutes();
    for (const trunk of parsed.data.trunks) routes.upsertTrunk(trunk);
    for (const rule of parsed.data.rules) routes.upsertRule(rule);
    return routes;
  }

  /**
   * Creates or replaces a trunk by ID. Throws InboundRouteConflictError when another trunk
   * without address restrictions already owns one of its numbers and this one has none
   * either: a call to that number could not be routed unambiguously.
   */
  upsertTrunk(trunk: InboundTrunk): void {
    if (!trunk.allowedAddresses) {
      for (const other of this.trunks.values()) {
        if (other.trunk.trunkId === trunk.trunkId || other.trunk.allowedAddresses) continue;
        if (other.trunk.numbers.some((n) => trunk.numbers.includes(n))) {
          throw new InboundRouteConflictError(`Inbound trunk ${other.trunk.trunkId} already owns one of these numbers for any source address`);
        }
      }
    }
    this.trunks.set(trunk.trunkId, { trunk, sources: blockListOf(trunk.allowedAddresses) });
  }

  /** Creates or replaces a rule by ID. Throws InboundRouteConflictError when another rule takes one of its trunks. */
  upsertRule(rule: DispatchRule): void {
    for (const other of this.rules.values()) {
      if (other.ruleId === rule.ruleId) continue;
      const shared = other.trunkIds.find((t) => rule.trunkIds.includes(t));
      if (shared) throw new InboundRouteConflictError(`Dispatch rule ${other.ruleId} already takes the calls of trunk ${shared}`);
    }
    this.rules.set(rule.ruleId, rule);
  }

  deleteTrunk(trunkId: string): boolean {
    return this.trunks.delete(trunkId);
  }

  deleteRule(ruleId: string): boolean {
    return this.rules.delete(ruleId);
  }

  listTrunks(): InboundTrunk[] {
    return [...this.trunks.values()].map((e) => e.trunk);
  }

  listRules(): DispatchRule[] {
    return [...this.rules.values()];
  }

  /**
   * Which trunk and rule take a call to `number` (E.164) from `sourceAddress`, and its
   * room. A trunk restricted to the source wins over an unrestricted one.
   */
  match(number: string, sourceAddress: string): RouteMatch {
    let trunk: InboundTrunk | undefined;
    for (const entry of this.trunks.values()) {
      if (!entry.trunk.numbers.includes(number)) continue;
      if (!entry.sources) {
        trunk ??= entry.trunk;
        continue;
      }
      if (entry.sources.check(sourceAddress, isIPv6(sourceAddress) ? 'ipv6' : 'ipv4')) {
        trunk = entry.trunk;
        break;
      }
    }
    if (!trunk) return { ok: false, reason: 'no_trunk' };
    const trunkId = trunk.trunkId;
    const rule = [...this.rules.values()].find((r) => r.trunkIds.includes(trunkId));
    if (!rule) return { ok: false, reason: 'no_rule' };
    return { ok: true, trunk, rule, ...inboundRoomName(rule, trunk) };
  }
}

function blockListOf(addresses: readonly string[] | undefined): BlockList | undefined {
  if (!addresses) return undefined;
  const list = new BlockList();
  for (const address of addresses) {
    const [ip = '', prefix] = address.split('/');
    const type = isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return list;
}

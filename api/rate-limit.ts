/**
 * Rate limits per API key and per tenant, shared by every API process through Redis.
 * Fixed one-second windows counted by one Lua script, so both counters move together and
 * a refused request counts against neither. The answer says how long to wait.
 */
import type { Redis } from 'ioredis';

export interface RateLimits {
  /** Requests per second one key may make. */
  perKeyPerSecond: number;
  /** Requests per second all of a tenant's keys may make together. */
  perTenantPerSecond: number;
}

export type RateVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; limitedBy: 'key' | 'tenant' };

const windowMs = 1000;

// KEYS: key counter, tenant counter. ARGV: key limit, tenant limit, window ms.
// Returns {0} when allowed, else {1 (key) or 2 (tenant), ms left in the window}.
const script = `
local k = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if k >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1])} end
if t >= tonumber(ARGV[2]) then return {2, redis.call('PTTL', KEYS[2])} end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return {0}
`;

export function createRateLimiter(redis: Redis, limits: RateLimits) {
  return async function check(tenantId: string, keyId: string): Promise<RateVerdict> {
    const window = Math.floor(Date.now() / windowMs);
    const result = (await redis.eval(script, 2, `ratelimit:key:${keyId}:${window}`, `ratelimit:tenant:${tenantId}:${window}`, limits.perKeyPerSecond, limits.perTenantPerSecond, windowMs)) as number[];
    if (result[0] === 0) return { allowed: true };
    return { allowed: false, limitedBy: result[0] === 1 ? 'key' : 'tenant', retryAfterMs: Math.max(1, result[1] ?? windowMs) };
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

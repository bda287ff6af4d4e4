/**
 * What integration tests share: the validated config of the running local stack
 * (`npm test` brings it up first) and unique names so tests never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';
import { loadConfig, type Config } from '../../deploy/config.js';

export const config: Config = loadConfig();

/**
 * A test's event bridge consumer is removed by NATS this long after the test stops pulling
 * (`removeWhenIdleMs`): every run names its own, and the local stack's stream outlives runs.
 */
export const testBridgeIdleMs = 5 * 60_000;

/** A name unique to this run, e.g. `uniqueName('room')` → `room-3f9a1c0b`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A LiveKit join token for a test participant. */
export async function joinToken(roomName: string, identity: string): Promise<string> {
  const token = new AccessToken(config.livekit.apiKey, config.livekit.apiSecret, { identity, ttl: '10m' });
  token.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true });
  return token.toJwt();
}

/**
 * One way every long-lived service connects to NATS. The client's default gives up after
 * ten reconnect attempts two seconds apart: a NATS restart of twenty seconds would leave a
 * call's agent publishing nothing and deaf to control commands for the rest of the call.
 * Services here keep reconnecting for as long as they run; what they publish meanwhile
 * is buffered by the client or retried by the publisher.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 });
}

/**
 * SIP gateway process: SIP over UDP toward carriers, RTP (PCMU), each call bridged into a
 * LiveKit room as a SIP participant, and the HTTP control API activities call to dial and
 * transfer. Inbound INVITEs are routed by inbound trunks and dispatch rules into new rooms.
 * Plays livekit-sip's role (see media/sip-gateway/).
 *
 *   tsx workers/sip-gateway.ts
 *
 * Reads SIP_PORT, SIP_RTP_PORT_START/END, SIP_GATEWAY_CONTROL_PORT, KICKCALL_HOST,
 * LIVEKIT_URL/PORT/API_KEY/API_SECRET, SIP_INBOUND_ROUTES_FILE (see deploy/config.ts).
 * Health: GET /health.
 *
 * Shutdown (SIGTERM/SIGINT): stop taking calls (dials refused, INVITEs answered 503),
 * BYE every live call in either direction, close the sockets, exit 0. A second signal
 * exits at once.
 */
import { pino } from 'pino';
import { loadConfig } from '../deploy/config.js';
import { startControlServer, type ControlServer } from '../media/sip-gateway/control-server.js';
import { SipGateway } from '../media/sip-gateway/gateway.js';
import { measureActiveCalls } from '../deploy/telemetry/metrics.js';
import { startMetricsServer, type MetricsServer } from '../deploy/telemetry/metrics-server.js';

const config = loadConfig();
const logger = pino({
  name: 'sip-gateway',
  level: config.logLevel,
  // Belt and braces: numbers and credentials are never logged on purpose; if a request
  // object is ever logged whole, these fields are censored.
  redact: {
    paths: ['*.callTo', '*.numbers', '*.authPassword', '*.authUsername', 'callTo', 'trunk', 'request.trunk', 'request.callTo'],
    censor: '[redacted]',
  },
});

async function main(): Promise<void> {
  const gateway = await SipGateway.start({
    host: config.host,
    sipPort: config.sip.port,
    rtpPortStart: config.sip.rtpPortStart,
    rtpPortEnd: config.sip.rtpPortEnd,
    livekit: { wsUrl: config.livekit.wsUrl, httpUrl: config.livekit.httpUrl, apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret },
    logger,
    // Inbound trunks and dispatch rules to start with; a bad file stops the start.
    ...(config.sip.inboundRoutesFile ? { routesFile: config.sip.inboundRoutesFile } : {}),
  });
  let control: ControlServer;
  let metricsServer: MetricsServer;
  try {
    control = await startControlServer({ gateway, host: config.host, port: config.sip.controlPort, logger });
    metricsServer = await startMetricsServer(config, 'sip-gateway', logger);
    measureActiveCalls('sip', () => gateway.activeCallCount);
  } catch (err) {
    await gateway.shutdown();
    throw err;
  }
  logger.info(
    { sip: `${config.host}:${config.sip.port}/udp`, rtp: `${config.sip.rtpPortStart}-${config.sip.rtpPortEnd}`, control: control.url },
    'sip gateway ready',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, activeCalls: gateway.activeCallCount }, 'draining');
    void (async () => {
      try {
        // Drain first (health answers 503, dials are refused), then close the API.
        await gateway.shutdown();
      } finally {
        await control.close();
        await metricsServer.close();
      }
      logger.info('stopped');
      process.exit(0);
    })().catch((err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'sip gateway failed to start');
  process.exit(1);
});

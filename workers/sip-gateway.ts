/**
 * SIP gateway process: SIP over UDP toward carriers, RTP (PCMU), each call bridged into a
 * LiveKit room as a SIP participant, and the HTTP control API activities call to dial and
 * transfer. Plays livekit-sip's role (see media/sip-gateway/).
 *
 *   tsx workers/sip-gateway.ts
 *
 * Reads SIP_PORT, SIP_RTP_PORT_START/END, SIP_GATEWAY_CONTROL_PORT, KICKCALL_HOST,
 * LIVEKIT_URL/PORT/API_KEY/API_SECRET (see deploy/config.ts). Health: GET /health.
 *
 * Shutdown (SIGTERM/SIGINT): stop taking dials (503 draining), BYE every live call,
 * close the sockets, exit 0. A second signal exits at once.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../deploy/config.js';
import { startControlServer, type ControlServer } from '../media/sip-gateway/control-server.js';
import { SipGateway } from '../media/sip-gateway/gateway.js';
import { InboundRoutes, inboundRoutesFileSchema } from '../media/sip-gateway/inbound-routing.js';

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

/** Inbound trunks and rules from SIP_INBOUND_ROUTES_FILE, validated: a bad file stops the start. */
function loadInboundRoutes(): InboundRoutes {
  const routes = new InboundRoutes();
  if (!config.sip.inboundRoutesFile) return routes;
  const file = inboundRoutesFileSchema.parse(JSON.parse(readFileSync(config.sip.inboundRoutesFile, 'utf8')));
  file.trunks.forEach((t) => routes.upsertTrunk(t));
  file.rules.forEach((r) => routes.upsertRule(r));
  logger.info({ trunks: file.trunks.length, rules: file.rules.length }, 'inbound routes loaded');
  return routes;
}

async function main(): Promise<void> {
  const gateway = await SipGateway.start({
    inboundRoutes: loadInboundRoutes(),
    host: config.host,
    sipPort: config.sip.port,
    rtpPortStart: config.sip.rtpPortStart,
    rtpPortEnd: config.sip.rtpPortEnd,
    livekit: { wsUrl: config.livekit.wsUrl, apiKey: config.livekit.apiKey, apiSecret: config.livekit.apiSecret },
    logger,
  });
  let control: ControlServer;
  try {
    control = await startControlServer({ gateway, host: config.host, port: config.sip.controlPort, logger });
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

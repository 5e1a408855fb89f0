#!/usr/bin/env node
/**
 * The composition root: the one place that picks concrete parts (which bus) and
 * wires them into a Gateway, and that owns the process (signals, exit codes).
 */
import { MemoryBus } from './bus/memory-bus.js';
import { LocalNodeLink } from './cluster/local-node-link.js';
import { busyPortSentence } from '@switchboard/config';
import { containerName } from './config/container-name.js';
import { ConfigError, SETTINGS, helpText, loadConfig, type Config } from './config/gateway-config.js';
import { Gateway, type ClusterParts } from './gateway.js';
import { createLogger, type Logger } from './logger.js';
import { noMetrics, type Metrics } from './metrics/metrics.js';
import { startObservability } from './observability.js';
import { PromMetrics } from './metrics/prom-metrics.js';
import { reportCapabilities } from './platform/capabilities.js';
import { isStrayReplyOnClosedSubscriber } from './platform/ioredis-cluster.js';
import { busKindOf, redisTargetOf } from './redis/client.js';
import { RedisBus } from './bus/redis-bus.js';
import { RedisNodeLink } from './cluster/redis-node-link.js';
import { RedisSessionRegistry } from './sessions/redis-session-registry.js';
import { MemorySessionRegistry } from './sessions/memory-session-registry.js';

/** Exit status for a bad setting. */
const EXIT_BAD_CONFIG = 2;
/** Exit status for a port that cannot be listened on (in use, or not an address of this machine). */
const EXIT_PORT_UNAVAILABLE = 3;

function readConfig(env: NodeJS.ProcessEnv): Config {
  try {
    const config = loadConfig(process.argv.slice(2), env);
    if (config === 'help') {
      process.stdout.write(helpText());
      process.exit(0);
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard-gateway: ${err.message}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw err;
  }
}

/** The one place that picks the medium: memory for one node, Redis for a cluster. */
function createCluster(config: Config, logger: Logger, metrics: Metrics): ClusterParts {
  const { nodeId } = config;
  const target = redisTargetOf(config);
  const presence = { summaryIntervalMs: config.presenceSummaryIntervalMs };
  if (target === undefined) {
    const bus = new MemoryBus(config);
    const sessions = new MemorySessionRegistry(bus, { ...config, ...presence, tombstoneTtlMs: config.historyMaxAgeMs }, logger);
    return { bus, sessions, link: new LocalNodeLink(nodeId) };
  }
  const shared = { ...config, ...presence, target, prefix: config.redisPrefix, logger, metrics };
  const bus = new RedisBus(shared);
  return { bus, sessions: new RedisSessionRegistry(shared, bus), link: new RedisNodeLink(shared) };
}

/**
 * Before anything is started (Redis, the hub): the ports this node will listen
 * on can be. A busy one is one sentence naming the setting to change, not a stack trace.
 */
async function checkPorts(config: Config): Promise<void> {
  const busy = await busyPortSentence(
    [
      { host: config.host, port: config.port, setting: SETTINGS.port.env, hostSetting: SETTINGS.host.env },
      ...(config.metricsPort === undefined
        ? []
        : [
            {
              host: config.metricsHost,
              port: config.metricsPort,
              setting: SETTINGS.metricsPort.env,
              hostSetting: SETTINGS.metricsHost.env,
            },
          ]),
    ],
    'npm start',
  );
  if (busy === undefined) return;
  process.stderr.write(`switchboard-gateway: ${busy}\n`);
  process.exit(EXIT_PORT_UNAVAILABLE);
}

/** The environment, with NODE_NAME filled in from Docker's DNS when unset and the hostname is only a container id. */
async function environment(): Promise<NodeJS.ProcessEnv> {
  if (process.env.NODE_NAME || process.env.NODE_ID) return process.env;
  const name = await containerName();
  return name === undefined ? process.env : { ...process.env, NODE_NAME: name };
}

async function main(): Promise<void> {
  const config = readConfig(await environment());
  await checkPorts(config);
  const logger = createLogger(config.logLevel, config.nodeId);
  const log = logger.child({ module: 'main' });
  // METRICS_PORT set: Prometheus metrics and the dashboard on a server of their own; unset: nothing is counted.
  const prom = config.metricsPort === undefined ? undefined : new PromMetrics({ node: config.nodeId, bus: busKindOf(config) });
  // Which library internals this node leans on, and which fell back: one log line, one gauge each.
  await reportCapabilities(logger, prom ?? noMetrics);
  const parts = createCluster(config, logger, prom ?? noMetrics);
  const gateway = new Gateway(config, parts, logger, prom ?? noMetrics);
  const observability =
    prom &&
    (await startObservability(config, prom, { bus: parts.bus, readiness: () => gateway.readiness(), backend: gateway.backend() }, logger));

  process.on('uncaughtException', (err) => {
    if (isStrayReplyOnClosedSubscriber(err)) {
      log.warn({ err: err.message }, 'a closed Redis subscriber got a late reply (ioredis); ignored');
      return;
    }
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection; exiting');
    process.exit(1);
  });

  const address = await gateway.listen();
  log.info({ port: address.port, bus: busKindOf(config) }, 'gateway started');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'signal received');
    if (stopping) return; // a second signal does not cut the drain short
    stopping = true;
    const timer = setTimeout(() => {
      log.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting anyway');
      process.exit(0);
    }, config.shutdownTimeoutMs);
    timer.unref();
    gateway
      .shutdown()
      .then(() => observability?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();

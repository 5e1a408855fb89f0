import type { Config } from '../config/gateway-config.js';
import type { Bus, BusHealth } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { ClusterView } from '../dashboard/cluster-view.js';
import { MetricsServer } from './metrics-server.js';
import { NodeStatsSampler } from '../dashboard/node-stats-sampler.js';
import type { PromMetrics } from './prom-metrics.js';
import { busKindOf, redisTargetOf } from '../redis/client.js';
import { RedisStatsStore } from '../dashboard/redis-stats-store.js';
import { LocalStatsStore } from '../dashboard/local-stats-store.js';

/** The metrics port at work: its server, and the cluster view it shows. */
export interface Observability {
  readonly port: number;
  /** Stop sampling, withdraw this node's stats record, close the server. */
  close(): Promise<void>;
}

/**
 * Start what METRICS_PORT turns on: the stats record sampled every second and
 * shared with the other nodes (over Redis, or just this node on the memory
 * bus), and the metrics server (/metrics, /cluster.json, /events, the dashboard).
 */
export async function startObservability(
  config: Config,
  metrics: PromMetrics,
  node: { readonly bus: Bus; readonly readiness: () => BusHealth },
  logger: Logger,
): Promise<Observability> {
  const { nodeId } = config;
  const { readiness } = node;
  const target = redisTargetOf(config);
  metrics.observe({ busUp: () => node.bus.health().ready, ready: () => readiness().ready });
  const sampler = new NodeStatsSampler({
    node: nodeId,
    bus: busKindOf(config),
    tally: () => metrics.tally(),
    readiness,
  });
  const store = target ? new RedisStatsStore({ target, prefix: config.redisPrefix, nodeId, logger }) : new LocalStatsStore();
  const view = new ClusterView(nodeId, sampler, store, logger);
  const server = new MetricsServer({
    port: config.metricsPort ?? 0,
    host: config.host,
    scrape: () => metrics.scrape(),
    contentType: metrics.contentType,
    view,
    logger,
  });
  const address = await server.listen().catch(async (err: unknown) => {
    await view.stop();
    throw err;
  });
  view.start();
  return {
    port: address.port,
    async close() {
      await view.stop();
      await server.close();
    },
  };
}

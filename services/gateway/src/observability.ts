import { redactedUrl } from './auth/token-from-request.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiBackend } from './api/api-backend.js';
import { ApiRoutes } from './api/api-routes.js';
import type { Bus, BusHealth } from './bus/bus.js';
import type { Config } from './config/gateway-config.js';
import { ClusterView } from './dashboard/cluster-view.js';
import { DASHBOARD_CSP, DashboardRoutes } from './dashboard/dashboard-routes.js';
import { LocalStatsStore } from './dashboard/local-stats-store.js';
import { NodeStatsSampler } from './dashboard/node-stats-sampler.js';
import { RedisStatsStore } from './dashboard/redis-stats-store.js';
import { send } from './http/send.js';
import type { Logger } from './logger.js';
import type { PromMetrics } from './metrics/prom-metrics.js';
import { busKindOf, redisTargetOf } from './redis/client.js';

/** The metrics port at work: its server, and the cluster view it shows. */
export interface Observability {
  readonly port: number;
  /** Stop sampling, withdraw this node's stats record, close the server. */
  close(): Promise<void>;
}

/**
 * Start what METRICS_PORT turns on: the stats record sampled every second and
 * shared with the other nodes (over Redis, or just this node on the memory
 * bus), and a server on that port, never the public one (so never reachable
 * through the load balancer's public frontend), on METRICS_HOST (127.0.0.1
 * unless set: the server has no authentication):
 *
 *   GET /metrics                      Prometheus text format (metrics/prom-metrics.ts)
 *   GET /healthz                      200 while the server runs (the load balancer's admin listener checks it)
 *   GET /, /cluster.json, /events     the live dashboard (dashboard/dashboard-routes.ts)
 *   /api/*                            the backend API, with API_KEY (api/api-routes.ts); 404 without
 *
 * Every answer carries the dashboard's Content-Security-Policy; methods other
 * than GET and HEAD get 405.
 */
export async function startObservability(
  config: Config,
  metrics: PromMetrics,
  node: { readonly bus: Bus; readonly readiness: () => BusHealth; readonly backend: ApiBackend },
  logger: Logger,
): Promise<Observability> {
  const { nodeId } = config;
  const { readiness } = node;
  const target = redisTargetOf(config);
  const log = logger.child({ module: 'metrics' });
  metrics.observe({ busUp: () => node.bus.health().ready, ready: () => readiness().ready });
  const sampler = new NodeStatsSampler({
    node: nodeId,
    bus: busKindOf(config),
    tally: () => metrics.tally(),
    readiness,
  });
  const store = target ? new RedisStatsStore({ target, prefix: config.redisPrefix, nodeId, logger }) : new LocalStatsStore();
  const view = new ClusterView(nodeId, sampler, store, logger);
  const dashboard = new DashboardRoutes(view);
  const api = new ApiRoutes(
    node.backend,
    { keys: config.apiKey ?? [], maxBodyBytes: config.apiMaxBodyBytes, idempotencyTtlMs: config.apiIdempotencyTtlMs },
    logger,
    metrics,
  );
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (api.owns(url)) {
      void api.answer(req, res, url);
      return;
    }
    answer(req, res, url, metrics, dashboard).catch((err: Error) => {
      log.error({ err, path: redactedUrl(req.url) }, 'metrics request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'Internal error');
      else res.destroy();
    });
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort ?? 0, config.metricsHost, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  }).catch(async (err: unknown) => {
    await view.stop();
    throw err;
  });
  log.info({ metricsPort: address.port, host: address.address }, `metrics and dashboard on http://${address.address}:${address.port}`);
  view.start();
  return {
    port: address.port,
    async close() {
      await view.stop();
      dashboard.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  metrics: PromMetrics,
  dashboard: DashboardRoutes,
): Promise<void> {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain', 'Method not allowed');
    return;
  }
  switch (url.pathname) {
    case '/metrics':
      send(res, 200, metrics.contentType, await metrics.scrape());
      return;
    case '/healthz':
      send(res, 200, 'application/json', '{"status":"ok"}');
      return;
    default:
      if (!(await dashboard.answer(url, req, res))) send(res, 404, 'text/plain', 'Not found');
  }
}

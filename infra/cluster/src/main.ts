/**
 * `npm run cluster`: the deployed topology on this machine, without Docker.
 *
 *   GATEWAYS  how many gateways (default 3, at most 16)
 *   LB_PORT   the load balancer's port (default 8080; 0 picks a free one)
 *   LB_HOST   the load balancer's address (default 127.0.0.1)
 *   LB_TLS_CERT   a PEM file (certificate, chain, key: HAProxy's format, e.g. from
 *             `npm run dev-cert`): HTTPS and WSS on LB_PORT, TLS ending at HAProxy
 *   LB_HTTP_PORT  with LB_TLS_CERT, a plain HTTP port that redirects to LB_PORT
 *             (but /healthz, /readyz); default a free one
 *   REDIS_MASTERS  run the gateways on a Redis Cluster of this many masters (3 to
 *             16) instead of one redis-server; default 0: one redis-server
 *
 * Prints the URL once HAProxy has found every gateway UP, and the admin
 * listener's (HAProxy's Prometheus metrics, its stats, the live dashboard) on a
 * free port of 127.0.0.1; Ctrl-C or SIGTERM stops everything it started.
 */
import { accessSync, constants } from 'node:fs';
import { LocalCluster } from '@switchboard/testkit';

const gateways = intSetting('GATEWAYS', 3, 1, 16);
const lbPort = intSetting('LB_PORT', 8080, 0, 65_535);
const lbHost = process.env.LB_HOST ?? '127.0.0.1';
const tlsCert = fileSetting('LB_TLS_CERT');
const plainPort = intSetting('LB_HTTP_PORT', 0, 0, 65_535);
const redisMasters = intSetting('REDIS_MASTERS', 0, 0, 16);
if (redisMasters > 0 && redisMasters < 3) {
  console.error(`cluster: REDIS_MASTERS must be 0 (one redis-server) or 3 to 16, got ${redisMasters}`);
  process.exit(2);
}

const cluster = await LocalCluster.start({
  gateways,
  lbPort: lbPort === 0 ? undefined : lbPort,
  lbHost,
  tlsCert,
  plainPort: plainPort === 0 ? undefined : plainPort,
  redisMasters: redisMasters === 0 ? undefined : redisMasters,
  // Server state changes only, not one line per request.
  onLbLine: (line) => {
    if (/^(\[\w+\]\s+\(\d+\) : )?(Server |Proxy |backend )/.test(line)) console.log(`[lb] ${line}`);
  },
}).catch((err: Error) => {
  console.error(`cluster: cannot start: ${err.message}`);
  process.exit(1);
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping HAProxy, ${gateways} gateways and Redis...`);
  await cluster.stop();
  console.log('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

void cluster.lb.exited.then(({ code, signal }) => {
  if (stopping) return;
  console.error(`HAProxy exited (${code ?? signal}); stopping`);
  void stop('HAProxy exit').then(() => process.exit(1));
});
for (const gateway of cluster.gateways) {
  void gateway.exited.then(({ code, signal }) => {
    if (!stopping) console.error(`gateway ${gateway.nodeId} (port ${gateway.port}) exited (${code ?? signal}); HAProxy takes it out`);
  });
}

await cluster.waitForBackends();
console.log(
  `redis      ${'url' in cluster.redis ? cluster.redis.url : `a Redis Cluster of ${redisMasters} masters: ${cluster.redis.seeds}`}`,
);
for (const gateway of cluster.gateways) {
  console.log(`gateway    ${gateway.nodeId}  ${gateway.httpUrl}  metrics ${gateway.metricsUrl}/metrics  pid ${gateway.pid}`);
}
console.log(`haproxy    ${cluster.httpUrl}`);
if (cluster.plainUrl) console.log(`haproxy    ${cluster.plainUrl}  redirects to ${cluster.httpUrl} (but /healthz, /readyz)`);
console.log(
  `admin      ${cluster.adminUrl}/  the live dashboard · ${cluster.adminUrl}/metrics  HAProxy's Prometheus metrics · ${cluster.lb.statsUrl}`,
);
console.log(`\nSwitchboard is up: ${cluster.httpUrl}  (WebSocket ${cluster.wsUrl}); all ${gateways} gateways UP`);
const e2eCa = tlsCert ? ' E2E_CA=<the authority that signed it, e.g. infra/tls/ca.crt>' : '';
console.log(`E2E_URL=${cluster.httpUrl}${e2eCa} npm run e2e   runs the end-to-end suite against it. Ctrl-C stops everything.`);

/** The path of a readable file, or undefined when the variable is unset. */
function fileSetting(name: string): string | undefined {
  const path = process.env[name];
  if (path === undefined || path === '') return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    console.error(`cluster: ${name} must be the path of a readable file, got "${path}" (${(err as NodeJS.ErrnoException).code})`);
    process.exit(2);
  }
  return path;
}

function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`cluster: ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

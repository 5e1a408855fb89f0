/**
 * `npm run cluster`: the deployed topology on this machine, without Docker: a
 * redis-server (or a Redis Cluster), N gateways and HAProxy. Its settings
 * (GATEWAYS, LB_PORT, LB_TLS_CERT, REDIS_MASTERS...) are in cluster-settings.ts;
 * `npm run cluster -- --help` lists them.
 *
 * Checks first that its ports (LB_PORT, and LB_HTTP_PORT with TLS) can be
 * listened on, and says which setting to change when one cannot, before it
 * starts anything. Prints the URL once HAProxy has found every gateway UP, and
 * the admin listener's (HAProxy's Prometheus metrics, its stats, the live
 * dashboard) on a free port of 127.0.0.1; Ctrl-C or SIGTERM stops everything it
 * started, and says "stopped".
 */
import { ConfigError, busyPortSentence } from '@switchboard/config';
import { LocalCluster } from '@switchboard/testkit';
import { SETTINGS, helpText, loadClusterSettings, type ClusterSettings } from './cluster-settings.js';

/** Exit status for a bad setting, as the gateway's. */
const EXIT_BAD_SETTING = 2;
/** Exit status when the cluster cannot start (a port in use, a process that fails). */
const EXIT_CANNOT_START = 1;

const { gateways, lbPort, lbHost, lbTlsCert: tlsCert, lbHttpPort, redisMasters } = readSettings();

const busy = await busyPortSentence(
  [
    { host: lbHost, port: lbPort, setting: SETTINGS.lbPort.env, hostSetting: SETTINGS.lbHost.env },
    ...(tlsCert !== undefined && lbHttpPort !== undefined
      ? [{ host: lbHost, port: lbHttpPort, setting: SETTINGS.lbHttpPort.env, hostSetting: SETTINGS.lbHost.env }]
      : []),
  ],
  'npm run cluster',
);
if (busy !== undefined) {
  console.error(`cluster: ${busy}`);
  process.exit(EXIT_CANNOT_START);
}

const cluster = await LocalCluster.start({
  gateways,
  // 0: a free port; 0 masters: one redis-server.
  lbPort: lbPort || undefined,
  lbHost,
  tlsCert,
  plainPort: lbHttpPort || undefined,
  redisMasters: redisMasters || undefined,
  // Server state changes only, not one line per request.
  onLbLine: (line) => {
    if (/^(\[\w+\]\s+\(\d+\) : )?(Server |Proxy |backend )/.test(line)) console.log(`[lb] ${line}`);
  },
}).catch((err: Error) => {
  console.error(`cluster: cannot start: ${err.message}`);
  process.exit(EXIT_CANNOT_START);
});

let stopping = false;
/** Stop everything started; exit with `status` once it has stopped. */
async function stop(status = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\nstopping HAProxy, ${gateways} gateway${gateways === 1 ? '' : 's'} and Redis...`);
  await cluster.stop();
  console.log('stopped');
  process.exit(status);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

/**
 * Ctrl-C in a terminal reaches the whole process group, HAProxy and the
 * gateways too: one of them ending on SIGINT is that Ctrl-C (its own handler
 * may run a moment later), not a failure.
 */
const CTRL_C = 'SIGINT';

void cluster.lb.exited.then(({ code, signal }) => {
  if (stopping) return;
  if (signal === CTRL_C) {
    void stop();
    return;
  }
  console.error(`HAProxy exited (${code ?? signal}); stopping`);
  void stop(EXIT_CANNOT_START);
});
for (const gateway of cluster.gateways) {
  void gateway.exited.then(({ code, signal }) => {
    if (!stopping && signal !== CTRL_C) {
      console.error(`gateway ${gateway.nodeId} (port ${gateway.port}) exited (${code ?? signal}); HAProxy takes it out`);
    }
  });
}

await cluster.waitForBackends();
console.log(
  `redis      ${'url' in cluster.redis ? cluster.redis.url : 'seeds' in cluster.redis ? `a Redis Cluster of ${redisMasters} masters: ${cluster.redis.seeds}` : `Sentinels ${cluster.redis.sentinels}`}`,
);
for (const gateway of cluster.gateways) {
  console.log(`gateway    ${gateway.nodeId}  ${gateway.httpUrl}  metrics ${gateway.metricsUrl}/metrics  pid ${gateway.pid}`);
}
console.log(`haproxy    ${cluster.httpUrl}  pid ${cluster.lb.pid}`);
if (cluster.plainUrl) console.log(`haproxy    ${cluster.plainUrl}  redirects to ${cluster.httpUrl} (but /healthz, /readyz)`);
console.log(
  `admin      ${cluster.adminUrl}/  the live dashboard · ${cluster.adminUrl}/metrics  HAProxy's Prometheus metrics · ${cluster.lb.statsUrl}`,
);
console.log(`\nSwitchboard is up: ${cluster.httpUrl}  (WebSocket ${cluster.wsUrl}); all ${gateways} gateways UP`);
const e2eCa = tlsCert ? ' E2E_CA=<the authority that signed it, e.g. infra/tls/ca.crt>' : '';
console.log(`E2E_URL=${cluster.httpUrl}${e2eCa} npm run e2e   runs the end-to-end suite against it. Ctrl-C stops everything.`);

/** The settings, or exit: 0 after --help, 2 after a bad value (with a message naming it). */
function readSettings(): ClusterSettings {
  try {
    const settings = loadClusterSettings(process.argv.slice(2), process.env);
    if (settings !== 'help') return settings;
    process.stdout.write(helpText());
    process.exit(0);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`cluster: ${err.message}`);
    process.exit(EXIT_BAD_SETTING);
  }
}

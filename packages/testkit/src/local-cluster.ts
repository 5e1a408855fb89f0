import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { GatewayProcess } from './gateway-process.js';
import { HaproxyProcess, isServerUp, type ServerStat } from './haproxy-process.js';
import { RedisCluster } from './redis-cluster.js';
import { RedisSentinelGroup } from './redis-sentinel-group.js';
import { RedisServer } from './redis-server.js';

/** How many metrics ports a gateway is tried on when the one found free was taken meanwhile. */
const PORT_ATTEMPTS = 3;

/** What the gateways of a LocalCluster run on: one redis-server, a Redis Cluster, or a Sentinel group. */
export type LocalRedis = RedisServer | RedisCluster | RedisSentinelGroup;

/** The load balancer settings shared with docker-compose.yml. */
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../../infra/haproxy/haproxy.cfg', import.meta.url));

/** Where HAProxy connects to the local gateways from: their one trusted proxy. */
const LB_PEER = '127.0.0.1';

/** The backend that infra/haproxy/haproxy.cfg sends clients to. */
export const GATEWAYS_BACKEND = 'gateways';

export interface LocalClusterOptions {
  /** How many gateways; 3 by default. */
  readonly gateways?: number;
  /** The load balancer's port; a free one by default. */
  readonly lbPort?: number;
  /** The load balancer's address; 127.0.0.1 by default. */
  readonly lbHost?: string;
  /**
   * Extra environment for every gateway. The gateways trust HAProxy's
   * X-Forwarded-For (TRUSTED_PROXIES=127.0.0.1) and keep the default
   * per-address limits unless this says otherwise.
   */
  readonly gatewayEnv?: Readonly<Record<string, string | undefined>>;
  /** Called with each line HAProxy prints. */
  readonly onLbLine?: (line: string) => void;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes'] so a Redis restart keeps the history. */
  readonly redisArgs?: readonly string[];
  /**
   * Run the gateways on a Redis Cluster of this many masters (REDIS_CLUSTER; at
   * least 3, no replicas) instead of one redis-server (REDIS_URL). Unset: one
   * redis-server. `redisArgs` apply to every node.
   */
  readonly redisMasters?: number;
  /**
   * Run the gateways on this Redis, started by the caller (a Redis Cluster with
   * replicas, a Sentinel group...), instead of starting one: REDIS_URL,
   * REDIS_CLUSTER or REDIS_SENTINELS and REDIS_SENTINEL_NAME as it is. The
   * cluster owns it from then on: stop() disposes of it. `redisArgs` and
   * `redisMasters` are then ignored.
   */
  readonly redis?: LocalRedis;
  /**
   * A PEM file in HAProxy's format (certificate, chain, key): HAProxy then serves
   * HTTPS and WSS on `lbPort`, and plain HTTP on `plainPort` redirects there (but
   * /healthz and /readyz). The gateways stay plain HTTP: TLS ends at the balancer.
   */
  readonly tlsCert?: string;
  /** With `tlsCert`: the port of the plain HTTP listener that redirects; a free one by default. */
  readonly plainPort?: number;
}

/**
 * The deployed topology on one machine, no Docker: a redis-server of its own
 * (or, with `redisMasters`, a Redis Cluster), N gateways on free ports of
 * 127.0.0.1 (node ids gw1..gwN) and HAProxy in front, with
 * infra/haproxy/haproxy.cfg plus a backend listing those gateways. With
 * `tlsCert`, HAProxy ends TLS: https:// and wss:// on lbPort.
 */
export class LocalCluster {
  private constructor(
    /** The one redis-server, or the Redis Cluster (`redisMasters`), or the caller's (`redis`). */
    readonly redis: LocalRedis,
    readonly gateways: GatewayProcess[],
    readonly lb: HaproxyProcess,
    readonly lbHost: string,
    readonly lbPort: number,
    /** With TLS: the plain listener's port (it redirects to lbPort). */
    readonly plainPort: number | undefined,
    /** HAProxy's admin listener on 127.0.0.1: its Prometheus metrics, stats page, and the gateways' dashboard. */
    readonly adminPort: number,
    private readonly dir: string,
  ) {}

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const count = options.gateways ?? 3;
    const lbHost = options.lbHost ?? '127.0.0.1';
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-'));
    const started: Array<{ stop(): Promise<unknown> }> = [];
    try {
      await HaproxyProcess.version(); // fails fast, before starting anything, when haproxy is missing
      const redis =
        options.redis ??
        (options.redisMasters === undefined
          ? await RedisServer.start({ args: options.redisArgs })
          : await RedisCluster.start({ masters: options.redisMasters, args: options.redisArgs }));
      started.push({ stop: () => redis.dispose() });
      // Each gateway's metrics port is chosen here, so a gateway restarted on it is found again behind the admin listener.
      // A port found free can be taken by another process before the gateway binds it: then another is tried.
      const metricsPorts: number[] = [];
      const gateways = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          for (let attempt = 1; ; attempt++) {
            const metricsPort = await freePort();
            try {
              const gateway = await GatewayProcess.start({
                env: {
                  ...redisEnvOf(redis),
                  NODE_ID: `gw${i + 1}`,
                  TRUSTED_PROXIES: LB_PEER,
                  METRICS_PORT: String(metricsPort),
                  ...options.gatewayEnv,
                },
                liftAddressLimits: false,
              });
              started.push(gateway);
              metricsPorts[i] = metricsPort;
              return gateway;
            } catch (err) {
              if (attempt >= PORT_ATTEMPTS || !/is in use/.test((err as Error).message)) throw err;
            }
          }
        }),
      );
      const [lbPort, adminPort] = [options.lbPort ?? (await freePort()), await freePort()];
      const plainPort = options.tlsCert === undefined ? undefined : (options.plainPort ?? (await freePort()));
      const backendFile = join(dir, 'local.cfg');
      writeFileSync(
        backendFile,
        localBackendConfig(
          gateways.map((g) => g.port),
          metricsPorts,
        ),
      );
      const lb = await HaproxyProcess.start({
        configFiles: [HAPROXY_CONFIG, backendFile],
        statsUrl: `http://127.0.0.1:${adminPort}/stats`,
        env: { ...listenerEnv(lbHost, lbPort, options.tlsCert, plainPort), ADMIN_BIND: `127.0.0.1:${adminPort}` },
        onLine: options.onLbLine,
      });
      return new LocalCluster(redis, gateways, lb, lbHost, lbPort, plainPort, adminPort, dir);
    } catch (err) {
      await Promise.allSettled(started.reverse().map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Where the gateways find Redis: REDIS_URL, REDIS_CLUSTER, or REDIS_SENTINELS (the others unset). Give it to a gateway started later. */
  get redisEnv(): Readonly<Record<string, string | undefined>> {
    return redisEnvOf(this.redis);
  }

  /** Whether HAProxy serves HTTPS and WSS on lbPort. */
  get tls(): boolean {
    return this.plainPort !== undefined;
  }

  /** The load balancer, as a browser reaches it: `https://` with TLS. */
  get httpUrl(): string {
    return `${this.tls ? 'https' : 'http'}://${urlHost(this.lbHost)}:${this.lbPort}`;
  }

  /** The admin listener: `/metrics` (HAProxy's exporter), `/stats`, anything else a gateway's dashboard. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  /** The WebSocket endpoint, through the load balancer: `wss://` with TLS. */
  get wsUrl(): string {
    return `${this.tls ? 'wss' : 'ws'}://${urlHost(this.lbHost)}:${this.lbPort}/ws`;
  }

  /** With TLS, the plain HTTP listener, which redirects to httpUrl (but the probes); undefined without. */
  get plainUrl(): string | undefined {
    return this.plainPort === undefined ? undefined : `http://${urlHost(this.lbHost)}:${this.plainPort}`;
  }

  /** The gateway serving node `nodeId`, if it is one of ours. */
  gateway(nodeId: string): GatewayProcess | undefined {
    return this.gateways.find((g) => g.nodeId === nodeId);
  }

  /** Wait until HAProxy has checked every gateway and found it UP. */
  waitForBackends(timeoutMs = 15_000): Promise<ServerStat[]> {
    return this.lb.waitForServers(
      GATEWAYS_BACKEND,
      (servers) => servers.length === this.gateways.length && servers.every(isServerUp),
      `all ${this.gateways.length} gateways UP`,
      timeoutMs,
    );
  }

  /** Stop everything, the load balancer first, and remove the temp folder. */
  async stop(): Promise<void> {
    await this.lb.stop();
    await Promise.allSettled(this.gateways.map((g) => g.stop()));
    await this.redis.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The part of the HAProxy configuration that differs from Docker's
 * (infra/haproxy/docker.cfg): gateways on 127.0.0.1 ports, and their metrics
 * ports behind the admin listener (ADMIN_BIND).
 */
export function localBackendConfig(gatewayPorts: readonly number[], metricsPorts: readonly number[]): string {
  return [
    '# Written by LocalCluster (packages/testkit): local gateways behind infra/haproxy/haproxy.cfg.',
    `backend ${GATEWAYS_BACKEND}`,
    ...gatewayPorts.map((port, i) => `    server gw${i + 1} 127.0.0.1:${port} check`),
    '',
    'backend dashboards',
    '    http-check send meth GET uri /healthz',
    '    http-check expect status 200',
    ...metricsPorts.map((port, i) => `    server dash${i + 1} 127.0.0.1:${port} check`),
    '',
  ].join('\n');
}

function redisEnvOf(redis: LocalRedis): Record<string, string | undefined> {
  const none = { REDIS_URL: undefined, REDIS_CLUSTER: undefined, REDIS_SENTINELS: undefined, REDIS_SENTINEL_NAME: undefined };
  if (redis instanceof RedisCluster) return { ...none, REDIS_CLUSTER: redis.seeds };
  if (redis instanceof RedisSentinelGroup) return { ...none, REDIS_SENTINELS: redis.sentinels, REDIS_SENTINEL_NAME: redis.name };
  return { ...none, REDIS_URL: redis.url };
}

/**
 * HAProxy's listeners (see infra/haproxy/haproxy.cfg): plain on `lbPort`, or
 * with `tlsCert` TLS on `lbPort` and a redirecting plain one on `plainPort`. The
 * TLS variables are always given, unset without TLS, so none is inherited.
 */
function listenerEnv(host: string, lbPort: number, tlsCert: string | undefined, plainPort: number | undefined) {
  if (tlsCert === undefined || plainPort === undefined) {
    return { LB_BIND: `${host}:${lbPort}`, LB_TLS_CERT: undefined, LB_TLS_BIND: undefined, LB_HTTPS_PORT: undefined };
  }
  return { LB_BIND: `${host}:${plainPort}`, LB_TLS_CERT: tlsCert, LB_TLS_BIND: `${host}:${lbPort}`, LB_HTTPS_PORT: String(lbPort) };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

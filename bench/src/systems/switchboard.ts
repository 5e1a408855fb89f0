/**
 * Switchboard as it is: N gateways (services/gateway/dist/main.js) over one
 * redis-server (`switchboard`), or over a 3-master Redis Cluster of its own
 * (`switchboard-cluster`, REDIS_CLUSTER: rooms spread over the shards).
 */
import { GATEWAY_ENTRY, GATEWAY_NODE_FLAGS, RedisServer, freePort } from '@switchboard/testkit';
import { NodeProcess } from '../node-process.js';
import { RunningSystem, type StartOptions, type SystemUnderTest } from './system.js';
import { CLUSTER_MASTERS, startSystemRedis } from './system-redis.js';

/**
 * Gateway settings for the benchmark: quiet logs; senders never throttled; every
 * client comes from 127.0.0.1, so the per-address admission limits (meant for one
 * person) are lifted; and no shedding for event-loop lag, so that a join storm
 * measures how fast a node takes clients, not how early it starts refusing them.
 */
export const GATEWAY_ENV = {
  LOG_LEVEL: 'warn',
  MESSAGE_RATE_PER_SEC: '100000',
  MESSAGE_BURST: '100000',
  MAX_CONNECTIONS: '1000000',
  MAX_CONNECTIONS_PER_IP: '1000000',
  CONNECTION_RATE_PER_IP: '1000000',
  CONNECTION_BURST_PER_IP: '1000000',
  MAX_EVENT_LOOP_LAG_MS: '0',
};

export const switchboard: SystemUnderTest = {
  id: 'switchboard',
  name: 'Switchboard',
  client: 'ws-json',
  async start(options: StartOptions): Promise<RunningSystem> {
    const redis = await RedisServer.start();
    return startGateways(options, { REDIS_URL: redis.url }, [redis]);
  },
};

export const switchboardCluster: SystemUnderTest = {
  id: 'switchboard-cluster',
  name: `Switchboard, Redis Cluster (${CLUSTER_MASTERS} masters)`,
  client: 'ws-json',
  async start(options: StartOptions): Promise<RunningSystem> {
    const cluster = await startSystemRedis('cluster');
    return startGateways(options, cluster.env, cluster.servers);
  },
};

/**
 * Switchboard as changed for an A/B, measured beside `switchboard` in the same run:
 * another build (`entry`: a main.js, e.g. of a second checkout), other Node flags
 * (`nodeFlags`, space-separated; "-" for none) or extra gateway settings (`env`,
 * KEY=VALUE pairs, space-separated): the bench's B_ENTRY, B_NODE_FLAGS and B_ENV.
 * None given, it is Switchboard as it is.
 */
export function switchboardB(b: { readonly entry?: string; readonly nodeFlags?: string; readonly env?: string }): SystemUnderTest {
  return {
    id: 'switchboard-b',
    name: `Switchboard B (${[b.entry, b.nodeFlags, b.env].filter(Boolean).join('; ') || 'same'})`,
    client: 'ws-json',
    async start(options: StartOptions): Promise<RunningSystem> {
      const redis = await RedisServer.start();
      const env = Object.fromEntries(
        (b.env ?? '')
          .split(' ')
          .filter((pair) => pair.includes('='))
          // At the first `=` only: a value may hold more (B_ENV="NODE_OPTIONS=--max-old-space-size=64").
          .map((pair) => {
            const at = pair.indexOf('=');
            return [pair.slice(0, at), pair.slice(at + 1)];
          }),
      );
      const flags = b.nodeFlags === undefined ? GATEWAY_NODE_FLAGS : b.nodeFlags.split(' ').filter((f) => f && f !== '-');
      return startGateways(options, { REDIS_URL: redis.url, ...env }, [redis], { entry: b.entry ?? GATEWAY_ENTRY, flags });
    },
  };
}

/** Start the gateways with `redisEnv` (where Redis is) and wait until each answers /readyz. */
async function startGateways(
  options: StartOptions,
  redisEnv: Readonly<Record<string, string>>,
  redis: readonly RedisServer[],
  build: { readonly entry: string; readonly flags: readonly string[] } = { entry: GATEWAY_ENTRY, flags: GATEWAY_NODE_FLAGS },
): Promise<RunningSystem> {
  const ports = await Promise.all(Array.from({ length: options.nodes }, () => freePort()));
  const nodes = ports.map((port, i) =>
    NodeProcess.start(build.entry, [], {
      label: `gw${i + 1}`,
      env: { ...GATEWAY_ENV, ...options.env, ...redisEnv, HOST: '127.0.0.1', PORT: String(port), NODE_ID: `gw${i + 1}` },
      execArgv: [...build.flags, ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [])],
    }),
  );
  const running = new RunningSystem(
    nodes,
    ports.map((port) => `ws://127.0.0.1:${port}/ws`),
    redis,
  );
  try {
    await Promise.all(nodes.map((node, i) => node.waitForHttp(`http://127.0.0.1:${ports[i]}/readyz`)));
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

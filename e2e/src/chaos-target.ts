import { setTimeout as delay } from 'node:timers/promises';
import type { RoomName } from '@switchboard/protocol';
import { GatewayProcess, LocalCluster, RedisCluster, RedisServer, type LocalRedis, type LogLine } from '@switchboard/testkit';
import { readCa, shell, wsUrlOf } from './target.js';

/**
 * What the chaos scenario needs beyond a load balancer URL: ways to hurt the
 * cluster and to heal it.
 *
 * With no E2E_URL it starts a local cluster of its own (Redis with AOF, 3
 * gateways with short timings, HAProxy). Against E2E_URL every hook comes from a
 * shell command, each given the node id in $E2E_NODE where it concerns one:
 *
 *   E2E_KILL_CMD           SIGKILL the gateway $E2E_NODE
 *   E2E_DRAIN_CMD          SIGTERM the gateway $E2E_NODE and wait until it has exited
 *   E2E_RESTART_CMD        start the gateway $E2E_NODE again (after a kill or a drain), and wait until it is ready
 *   E2E_REDIS_RESTART_CMD  restart Redis (it must persist its data, e.g. AOF) and wait until it answers
 *
 * If any is missing, `cannot` says which, and the scenario is skipped.
 */
export interface ChaosTarget {
  readonly wsUrl: string;
  /** The authority to trust for wss:// (E2E_CA); undefined: Node's own. */
  readonly ca?: Buffer;
  readonly gateways: number;
  readonly kill: (node: string) => Promise<void>;
  readonly drain: (node: string) => Promise<void>;
  readonly restart: (node: string) => Promise<void>;
  /** Stop Redis, leave it down for `downMs` (local cluster only), start it again. */
  readonly restartRedis: (downMs: number) => Promise<void>;
  /** Resolves once the balancer sends clients to every gateway again (as far as the target can tell). */
  readonly settled: () => Promise<void>;
  /**
   * On a Redis Cluster (local only, `redisMasters`): the address of the master
   * that serves `room` (its keys and channel); undefined elsewhere.
   */
  readonly shardOf?: (room: RoomName) => Promise<string>;
  /** Warnings and errors the gateways logged (local cluster only), for evidence. */
  readonly gatewayProblems: () => string[];
  /** The local cluster (no E2E_URL): its Redis, its gateways (as they are now: restart() replaces one). */
  readonly local?: LocalCluster;
  close(): Promise<void>;
}

/** Gateway timings for the scenario: short, so it fits in well under 3 minutes. */
export const CHAOS_GATEWAY_ENV = {
  // Longer than any reconnect: every drop must be resumed, never expire.
  RESUME_GRACE_MS: '15000',
  // On SIGTERM, /readyz is 503 this long before clients get 1012: HAProxy (inter 1s, fall 2) stops routing there.
  DRAIN_DELAY_MS: '1000',
  LEASE_TTL_MS: '2000',
  SWEEP_INTERVAL_MS: '500',
  // The delivery watchdog as in production (the testkit's gateways wait longer by default).
  SHARD_PROBE_INTERVAL_MS: '1000',
  SHARD_PROBE_TIMEOUT_MS: '3000',
} as const;

/** Redis keeps the history across a restart: the epoch must not change. */
export const CHAOS_REDIS_ARGS = ['--appendonly', 'yes'] as const;

/** The gateways' key prefix (REDIS_PREFIX's default): a room's keys and channel carry the hash tag `{switchboard:<room>}`. */
const REDIS_PREFIX = 'switchboard';

export interface ChaosTargetOptions {
  /**
   * Run the local cluster on a Redis Cluster of this many masters instead of one
   * redis-server. Against E2E_URL the scenario cannot know what Redis is behind
   * it, so it is skipped. Its restartRedis is not offered (it rejects).
   */
  readonly redisMasters?: number;
  /**
   * Run the local cluster on the Redis this starts (a Redis Cluster with
   * replicas, a Sentinel group...) instead; the cluster disposes of it. Against
   * E2E_URL the scenario is skipped.
   */
  readonly redis?: () => Promise<LocalRedis>;
  /** Extra gateway environment, over CHAOS_GATEWAY_ENV. */
  readonly gatewayEnv?: Readonly<Record<string, string | undefined>>;
}

export async function openChaosTarget(
  env: NodeJS.ProcessEnv = process.env,
  options: ChaosTargetOptions = {},
): Promise<{ target: ChaosTarget } | { cannot: string }> {
  const gateways = Number(env.E2E_GATEWAYS ?? 3);
  if (env.E2E_URL && (options.redisMasters !== undefined || options.redis !== undefined)) {
    return { cannot: `the Redis Cluster variant runs on a local cluster it starts itself, not at ${env.E2E_URL}` };
  }
  if (env.E2E_URL) {
    const commands = {
      kill: env.E2E_KILL_CMD,
      drain: env.E2E_DRAIN_CMD,
      restart: env.E2E_RESTART_CMD,
      restartRedis: env.E2E_REDIS_RESTART_CMD,
    };
    const missing = Object.entries({
      E2E_KILL_CMD: commands.kill,
      E2E_DRAIN_CMD: commands.drain,
      E2E_RESTART_CMD: commands.restart,
      E2E_REDIS_RESTART_CMD: commands.restartRedis,
    })
      .filter(([, command]) => !command)
      .map(([name]) => name);
    if (missing.length > 0) {
      return { cannot: `the chaos scenario needs ${missing.join(', ')} to hurt and heal the cluster at ${env.E2E_URL}` };
    }
    return {
      target: {
        wsUrl: wsUrlOf(new URL(env.E2E_URL)),
        ca: readCa(env),
        gateways,
        kill: (node) => shell(commands.kill!, { E2E_NODE: node }),
        drain: (node) => shell(commands.drain!, { E2E_NODE: node }),
        restart: (node) => shell(commands.restart!, { E2E_NODE: node }),
        restartRedis: () => shell(commands.restartRedis!, {}),
        settled: async () => undefined,
        gatewayProblems: () => [],
        close: async () => undefined,
      },
    };
  }

  const gatewayEnv = { ...CHAOS_GATEWAY_ENV, ...options.gatewayEnv };
  const cluster = await LocalCluster.start({
    gateways,
    gatewayEnv,
    redisArgs: CHAOS_REDIS_ARGS,
    redisMasters: options.redisMasters,
    redis: await options.redis?.(),
  });
  const redis = cluster.redis;
  await cluster.waitForBackends();
  /** Every gateway process the scenario ran, restarted ones included, for their logs. */
  const everyProcess: GatewayProcess[] = [...cluster.gateways];
  const slot = (node: string): number => {
    const index = cluster.gateways.findIndex((g) => g.nodeId === node);
    if (index < 0) throw new Error(`no local gateway has node id ${node}`);
    return index;
  };
  return {
    target: {
      wsUrl: cluster.wsUrl,
      gateways,
      kill: async (node) => {
        await cluster.gateways[slot(node)]!.kill();
      },
      drain: async (node) => {
        const exit = await cluster.gateways[slot(node)]!.stop('SIGTERM');
        if (exit.code !== 0) throw new Error(`${node} exited ${exit.code ?? exit.signal} after SIGTERM, not 0`);
      },
      restart: async (node) => {
        const index = slot(node);
        const old = cluster.gateways[index]!;
        const fresh = await GatewayProcess.start({
          env: { ...cluster.redisEnv, NODE_ID: node, PORT: String(old.port), ...gatewayEnv },
        });
        cluster.gateways[index] = fresh;
        everyProcess.push(fresh);
      },
      restartRedis: async (downMs) => {
        if (!(redis instanceof RedisServer)) throw new Error('restartRedis is not offered on a Redis Cluster');
        await redis.stop();
        await delay(downMs);
        await redis.restart();
      },
      ...(redis instanceof RedisCluster && {
        shardOf: async (room: RoomName) => (await redis.masterOfKey(roomKey(room))).address,
      }),
      local: cluster,
      settled: async () => {
        await cluster.waitForBackends(30_000);
      },
      gatewayProblems: () => everyProcess.flatMap((g) => g.logs.items.filter(isProblem).map((l) => `${g.nodeId}: ${JSON.stringify(l)}`)),
      close: () => cluster.stop(),
    },
  };
}

/** A key in `room`'s slot (its keys and channel carry the hash tag `{switchboard:<room>}`). */
export function roomKey(room: RoomName): string {
  return `{${REDIS_PREFIX}:${room}}`;
}

/** pino levels: 40 warn, 50 error, 60 fatal. */
function isProblem(line: LogLine): boolean {
  return line.level >= 40;
}

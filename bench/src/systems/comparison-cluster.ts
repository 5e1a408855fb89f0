/**
 * The comparison systems' cluster: one server script per node, each on its own
 * port with env PORT, NODE_ID (and JOIN_NOTICES), over a fresh Redis of its own:
 * one redis-server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER), see system-redis.ts.
 */
import { freePort } from '@switchboard/testkit';
import { NodeProcess } from '../node-process.js';
import { RunningSystem, type StartOptions } from './system.js';
import { startSystemRedis, type RedisKind } from './system-redis.js';

/** Start `script` once per node and wait until each answers /readyz. */
export async function startComparison(
  script: string,
  label: string,
  options: StartOptions,
  url: (port: number) => string,
  redisKind: RedisKind = 'one',
): Promise<RunningSystem> {
  const redis = await startSystemRedis(redisKind);
  const ports = await Promise.all(Array.from({ length: options.nodes }, () => freePort()));
  const nodes = ports.map((port, i) =>
    NodeProcess.start(script, [], {
      label: `${label}${i + 1}`,
      env: { ...redis.env, PORT: String(port), NODE_ID: `${label}${i + 1}`, JOIN_NOTICES: options.joinNotices ? '1' : '' },
      execArgv: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    }),
  );
  const running = new RunningSystem(nodes, ports.map(url), redis.servers);
  try {
    await Promise.all(nodes.map((node, i) => node.waitForHttp(`http://127.0.0.1:${ports[i]}/readyz`)));
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

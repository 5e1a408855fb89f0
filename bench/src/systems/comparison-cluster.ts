/**
 * The comparison systems' cluster: one server script per node, each on its own
 * port with env REDIS_URL, PORT, NODE_ID (and JOIN_NOTICES), over a fresh redis-server.
 */
import { RedisServer, freePort } from '@switchboard/testkit';
import { NodeProcess } from '../node-process.js';
import { RunningSystem, type StartOptions } from './system.js';

/** Start `script` once per node and wait until each answers /readyz. */
export async function startComparison(
  script: string,
  label: string,
  options: StartOptions,
  url: (port: number) => string,
): Promise<RunningSystem> {
  const redis = await RedisServer.start();
  const ports = await Promise.all(Array.from({ length: options.nodes }, () => freePort()));
  const nodes = ports.map((port, i) =>
    NodeProcess.start(script, [], {
      label: `${label}${i + 1}`,
      env: { REDIS_URL: redis.url, PORT: String(port), NODE_ID: `${label}${i + 1}`, JOIN_NOTICES: options.joinNotices ? '1' : '' },
      execArgv: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    }),
  );
  await Promise.all(nodes.map((node, i) => node.waitForHttp(`http://127.0.0.1:${ports[i]}/readyz`)));
  return new RunningSystem(nodes, ports.map(url), [redis]);
}

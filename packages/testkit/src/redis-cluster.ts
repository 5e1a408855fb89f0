import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './eventually.js';
import { RedisServer } from './redis-server.js';

/** Longest wait for a new cluster to agree on its slots, in ms. */
const CLUSTER_READY_MS = 30_000;
/** How often the nodes are asked again while waiting for them, in ms. */
const POLL_MS = 100;

export interface RedisClusterOptions {
  /** How many masters (no replicas); 3 by default, the fewest `redis-cli --cluster create` takes. */
  readonly masters?: number;
  /** Extra redis-server arguments for every node. */
  readonly args?: readonly string[];
}

/**
 * A real Redis Cluster of the test's own, on free ports of 127.0.0.1: N
 * redis-servers started with `--cluster-enabled yes`, each in its own folder,
 * joined with `redis-cli --cluster create` (no replicas), ready once every node
 * reports `cluster_state:ok`. Nodes can be killed and restarted on their port.
 */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const count = options.masters ?? 3;
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < count; i++) {
        nodes.push(
          await RedisServer.start({
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '2000',
              ...(options.args ?? []),
            ],
          }),
        );
      }
      const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
      await promisify(execFile)(binary, [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      const cluster = new RedisCluster(nodes);
      await cluster.waitUntilOk();
      return cluster;
    } catch (err) {
      await Promise.allSettled(nodes.map((n) => n.dispose()));
      throw err;
    }
  }

  /** `host:port,host:port,...`: what REDIS_CLUSTER takes. */
  get seeds(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  /** The seed nodes, as ioredis' Cluster takes them. */
  get seedNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The node serving `key`'s slot (CLUSTER KEYSLOT, then the node whose own slots hold it). */
  async nodeFor(key: string): Promise<RedisServer> {
    const first = this.nodes[0]!;
    const slot = Number((await first.cli('CLUSTER', 'KEYSLOT', key)).trim());
    for (const node of this.nodes) {
      const ranges = await slotsOf(node);
      if (ranges.some(([from, to]) => slot >= from && slot <= to)) return node;
    }
    throw new Error(`no node serves slot ${slot}`);
  }

  /** Wait until every node says the cluster is ok. */
  async waitUntilOk(timeoutMs = CLUSTER_READY_MS): Promise<void> {
    await eventually(
      async () => {
        const states = await Promise.all(this.nodes.map((n) => n.cli('CLUSTER', 'INFO').catch(() => '')));
        const notOk = this.nodes.filter((_, i) => !/cluster_state:ok/.test(states[i]!)).map((n) => n.port);
        if (notOk.length > 0) throw new Error(`not ok on port ${notOk.join(', ')}`);
        return true;
      },
      { timeoutMs, intervalMs: POLL_MS, what: 'every node of the Redis Cluster to say cluster_state:ok' },
    );
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.dispose()));
  }
}

/** The slot ranges a node serves itself (CLUSTER NODES, its `myself` line). */
async function slotsOf(node: RedisServer): Promise<Array<[number, number]>> {
  const lines = (await node.cli('CLUSTER', 'NODES')).split('\n');
  const mine = lines.find((line) => line.includes('myself'));
  if (!mine) return [];
  return mine
    .split(' ')
    .slice(8)
    .filter((part) => /^\d+(-\d+)?$/.test(part))
    .map((part) => {
      const [from, to] = part.split('-').map(Number);
      return [from!, to ?? from!];
    });
}

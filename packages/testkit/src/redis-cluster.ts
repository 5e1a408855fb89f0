import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './eventually.js';
import { keySlot } from './key-slot.js';
import { freePort } from './free-port.js';
import { RedisServer } from './redis-server.js';
import { TcpProxy } from './tcp-proxy.js';

/** Longest wait for a new cluster to agree on its slots, in ms. */
const CLUSTER_READY_MS = 30_000;
/** How often the nodes are asked again while waiting for them, in ms. */
const POLL_MS = 100;
/** Longest wait for a failover to be seen by every node, in ms. */
const FAILOVER_MS = 30_000;

export interface RedisClusterOptions {
  /** How many masters; 3 by default, the fewest `redis-cli --cluster create` takes. */
  readonly masters?: number;
  /** Replicas per master; 0 by default. With 1: 3 masters and 3 replicas, each replica of its own master. */
  readonly replicasPerMaster?: number;
  /** `cluster-node-timeout`, ms: how long a node is silent before it is taken for failing (and its replica promoted); 2000 by default. */
  readonly nodeTimeoutMs?: number;
  /** Every node keeps an append-only file synced on every write (`appendonly yes`, `appendfsync always`): a restarted node keeps its data. */
  readonly appendOnly?: boolean;
  /** Extra redis-server arguments for every node. */
  readonly args?: readonly string[];
  /**
   * Put a TcpProxy in front of every node and make the node announce it
   * (`cluster-announce-port`; the cluster bus stays direct): clients and the
   * replicas' replication links reach each node through its proxy (`linkTo`),
   * so a test can make one replica's link lag (`delay(ms, REPLICATION_LINK)`).
   */
  readonly proxied?: boolean;
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id, for a replica; '-' for a master. */
  readonly masterId: string;
  readonly linkState: string;
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/**
 * A real Redis Cluster of the test's own, on free ports of 127.0.0.1: redis-servers
 * started with `--cluster-enabled yes` and `cluster-require-full-coverage no` (a
 * shard that is down refuses only its own slots), each in its own folder, joined
 * with `redis-cli --cluster create`, ready once every node reports
 * `cluster_state:ok` and every replica is in sync. Nodes can be killed,
 * restarted on their port, and failed over.
 */
export class RedisCluster {
  /** Node id (CLUSTER MYID) by port. */
  private readonly ids = new Map<number, string>();

  private constructor(
    /** Every node, masters and replicas, in the order started (masters first at creation). */
    readonly nodes: readonly RedisServer[],
    readonly replicasPerMaster: number,
    readonly nodeTimeoutMs: number,
    /** With `proxied`: each node's proxy, by the node's port. */
    private readonly proxies: ReadonlyMap<number, TcpProxy>,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 0;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
    const nodes: RedisServer[] = [];
    const proxies = new Map<number, TcpProxy>();
    try {
      const args = [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        '--cluster-require-full-coverage',
        'no',
        ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : []),
        ...(options.args ?? []),
      ];
      for (let i = 0; i < masters * (1 + replicas); i++) {
        if (!options.proxied) {
          nodes.push(await RedisServer.start({ args }));
          continue;
        }
        const port = await freePort();
        const proxy = await TcpProxy.start(port);
        proxies.set(port, proxy);
        const announce = ['--cluster-announce-port', String(proxy.port), '--cluster-announce-bus-port', String(port + 10_000)];
        nodes.push(await RedisServer.start({ port, args: [...args, ...announce] }));
      }
      const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
      await promisify(execFile)(binary, [
        '--cluster',
        'create',
        ...nodes.map((n) => proxies.get(n.port)?.address ?? n.address),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      const cluster = new RedisCluster(nodes, replicas, nodeTimeoutMs, proxies);
      for (const node of nodes) cluster.ids.set(node.port, (await node.cli('CLUSTER', 'MYID')).trim());
      await cluster.waitUntilOk();
      await cluster.waitForReplicas();
      return cluster;
    } catch (err) {
      await Promise.allSettled(nodes.map((n) => n.dispose()));
      await Promise.allSettled([...proxies.values()].map((p) => p.close()));
      throw err;
    }
  }

  /** `host:port,host:port,...`: what REDIS_CLUSTER takes (the proxies, with `proxied`). */
  get seeds(): string {
    return this.seedNodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** The seed nodes, as ioredis' Cluster takes them (the proxies, with `proxied`). */
  get seedNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: this.proxies.get(n.port)?.port ?? n.port }));
  }

  /** With `proxied`: the proxy every connection to `node` goes through (its replicas' links included). */
  linkTo(node: RedisServer): TcpProxy {
    const proxy = this.proxies.get(node.port);
    if (!proxy) throw new Error(`${node.address} has no proxy: start the cluster with proxied: true`);
    return proxy;
  }

  /** The node's cluster id. */
  idOf(node: RedisServer): string {
    const id = this.ids.get(node.port);
    if (id === undefined) throw new Error(`port ${node.port} is not a node of this cluster`);
    return id;
  }

  /** CLUSTER NODES as the first running node sees it (or `from`). */
  async view(from?: RedisServer): Promise<ClusterNodeLine[]> {
    const node = from ?? this.nodes.find((n) => n.running);
    if (!node) throw new Error('no node of the cluster runs');
    return parseClusterNodes(await node.cli('CLUSTER', 'NODES'));
  }

  /** The masters serving slots, as the first running node sees them. */
  async masters(): Promise<RedisServer[]> {
    const view = await this.view();
    return view.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((l) => this.byPort(l.port));
  }

  /** The replicas of `master`, as the first running node sees them. */
  async replicasOf(master: RedisServer): Promise<RedisServer[]> {
    const id = this.idOf(master);
    const view = await this.view();
    return view.filter((l) => l.flags.includes('slave') && l.masterId === id).map((l) => this.byPort(l.port));
  }

  /** The master serving `slot`, as the first running node sees it. */
  async masterOfSlot(slot: number): Promise<RedisServer> {
    const view = await this.view();
    const line = view.find((l) => l.flags.includes('master') && l.slots.some(([from, to]) => slot >= from && slot <= to));
    if (!line) throw new Error(`no master serves slot ${slot}`);
    return this.byPort(line.port);
  }

  /** The master serving `key`'s slot (its hash tag counts, as in Redis). */
  masterOfKey(key: string): Promise<RedisServer> {
    return this.masterOfSlot(keySlot(key));
  }

  /** The master serving `key`'s slot (the former name of masterOfKey). */
  nodeFor(key: string): Promise<RedisServer> {
    return this.masterOfKey(key);
  }

  /** Wait until every running node says the cluster is ok. */
  async waitUntilOk(timeoutMs = CLUSTER_READY_MS): Promise<void> {
    await eventually(
      async () => {
        const running = this.nodes.filter((n) => n.running);
        const states = await Promise.all(running.map((n) => n.cli('CLUSTER', 'INFO').catch(() => '')));
        const notOk = running.filter((_, i) => !/cluster_state:ok/.test(states[i]!)).map((n) => n.port);
        if (notOk.length > 0) throw new Error(`not ok on port ${notOk.join(', ')}`);
        return true;
      },
      { timeoutMs, intervalMs: POLL_MS, what: 'every node of the Redis Cluster to say cluster_state:ok' },
    );
  }

  /** Wait until every master has `replicasPerMaster` replicas, each with its link up and its initial sync done. */
  async waitForReplicas(timeoutMs = CLUSTER_READY_MS): Promise<void> {
    if (this.replicasPerMaster === 0) return;
    await eventually(
      async () => {
        for (const master of await this.masters()) {
          const replicas = await this.replicasOf(master);
          if (replicas.length < this.replicasPerMaster) throw new Error(`${master.address} has ${replicas.length} replicas`);
          for (const replica of replicas) {
            const info = await replica.cli('INFO', 'replication');
            if (!/master_link_status:up/.test(info) || /master_sync_in_progress:1/.test(info)) {
              throw new Error(`replica ${replica.address} of ${master.address} is not in sync`);
            }
          }
        }
        return true;
      },
      { timeoutMs, intervalMs: POLL_MS, what: 'every master of the Redis Cluster to have its replicas in sync' },
    );
  }

  /**
   * Promote `replica` with CLUSTER FAILOVER (graceful: its master stops taking
   * writes until the replica has caught up; `force`: without its master's
   * agreement), and wait until every running node sees it as a master.
   */
  async failover(replica: RedisServer, options: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const reply = await replica.cli('CLUSTER', 'FAILOVER', ...(options.force ? ['FORCE'] : []));
    if (!reply.startsWith('OK')) throw new Error(`CLUSTER FAILOVER on ${replica.address}: ${reply.trim()}`);
    await this.waitForMaster(replica, options.timeoutMs ?? FAILOVER_MS);
  }

  /** Wait until every running node's CLUSTER NODES shows `node` as a master serving slots. */
  async waitForMaster(node: RedisServer, timeoutMs = FAILOVER_MS): Promise<void> {
    const id = this.idOf(node);
    await eventually(
      async () => {
        for (const n of this.nodes.filter((s) => s.running)) {
          const line = (await this.view(n)).find((l) => l.id === id);
          if (!line?.flags.includes('master') || line.slots.length === 0)
            throw new Error(`${n.address} does not see ${node.address} as a master yet`);
        }
        return true;
      },
      { timeoutMs, intervalMs: POLL_MS, what: `every node to see ${node.address} as a master` },
    );
  }

  /** SIGKILL `node`, as if its host died. Restart it with `node.restart()`: it rejoins with its nodes.conf. */
  async kill(node: RedisServer): Promise<void> {
    await node.kill();
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.dispose()));
    await Promise.allSettled([...this.proxies.values()].map((p) => p.close()));
  }

  /** The node listening on `port`, or announcing it (its proxy's). */
  private byPort(port: number): RedisServer {
    const node = this.nodes.find((n) => n.port === port || this.proxies.get(n.port)?.port === port);
    if (!node) throw new Error(`port ${port} is not a node of this cluster`);
    return node;
  }
}

/** CLUSTER NODES' text, line by line (slots being imported or migrated are left out). */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parts = line.trim().split(' ');
      const address = parts[1]!.split('@')[0]!;
      return {
        id: parts[0]!,
        port: Number(address.slice(address.lastIndexOf(':') + 1)),
        flags: parts[2]!.split(','),
        masterId: parts[3]!,
        linkState: parts[7]!,
        slots: parts
          .slice(8)
          .filter((part) => /^\d+(-\d+)?$/.test(part))
          .map((part) => {
            const [from, to] = part.split('-').map(Number);
            return [from!, to ?? from!] as const;
          }),
      };
    });
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';
import { RedisServer } from './redis-server.js';
import { TcpProxy } from './tcp-proxy.js';

/** Longest wait for the sentinels to know each other and the replica, in ms. */
const GROUP_READY_MS = 30_000;
/** Longest wait for a new master, in ms. */
const FAILOVER_MS = 30_000;
const POLL_MS = 100;

export interface RedisSentinelGroupOptions {
  /** The master's name in the sentinels (REDIS_SENTINEL_NAME); 'switchboard' by default. */
  readonly name?: string;
  /** How many sentinels; 3 by default. */
  readonly sentinels?: number;
  /** How many sentinels must agree the master is down; 2 by default. */
  readonly quorum?: number;
  /** `down-after-milliseconds`: a master silent this long is taken for down; 1000 by default. */
  readonly downAfterMs?: number;
  /**
   * `failover-timeout`, ms; 60000 by default. Sentinel also waits this long
   * before it "fixes" a replica that replicates from another address than the
   * master's, which the replica does here (through `link`): a scenario must be
   * over by then.
   */
  readonly failoverTimeoutMs?: number;
  /** Both servers keep an append-only file synced on every write; true by default. */
  readonly appendOnly?: boolean;
}

/**
 * A master, one replica and N Redis Sentinels of the test's own, on free ports
 * of 127.0.0.1, each sentinel with its own configuration file in a temp folder.
 * The replica replicates through a TcpProxy (`link`) in front of the master, so
 * a test can make that link lag (`link.delay(ms)`), freeze or cut it; the
 * sentinels and clients reach the master directly.
 */
export class RedisSentinelGroup {
  private constructor(
    readonly name: string,
    /** The master and the replica, as started (which one is master changes with a failover). */
    readonly servers: readonly [RedisServer, RedisServer],
    readonly sentinelServers: readonly RedisServer[],
    /** The replica's replication link to the first master. */
    readonly link: TcpProxy,
    private readonly dir: string,
  ) {}

  static async start(options: RedisSentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
    const name = options.name ?? 'switchboard';
    const count = options.sentinels ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-sentinel-'));
    const started: Array<{ dispose(): Promise<void> } | { close(): Promise<void> }> = [];
    try {
      const persist = options.appendOnly === false ? [] : ['--appendonly', 'yes', '--appendfsync', 'always'];
      const master = await RedisServer.start({ args: persist });
      started.push(master);
      const link = await TcpProxy.start(master.port);
      started.push(link);
      const replica = await RedisServer.start({ args: [...persist, '--replicaof', '127.0.0.1', String(link.port)] });
      started.push(replica);
      const sentinels: RedisServer[] = [];
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        const file = join(dir, `sentinel-${port}.conf`);
        writeFileSync(
          file,
          [
            `# Sentinel ${i + 1} of a RedisSentinelGroup (packages/testkit); Sentinel rewrites this file.`,
            `sentinel monitor ${name} 127.0.0.1 ${master.port} ${options.quorum ?? 2}`,
            `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 60_000}`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        const sentinel = await RedisServer.start({ port, sentinelConfig: file });
        started.push(sentinel);
        sentinels.push(sentinel);
      }
      const group = new RedisSentinelGroup(name, [master, replica], sentinels, link, dir);
      await group.waitUntilReady();
      return group;
    } catch (err) {
      await Promise.allSettled(started.reverse().map((s) => ('dispose' in s ? s.dispose() : s.close())));
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `host:port,host:port,...` of the sentinels: what REDIS_SENTINELS takes. */
  get sentinels(): string {
    return this.sentinelServers.map((s) => s.address).join(',');
  }

  /**
   * Wait until every sentinel sees the master up with its replica and the other
   * sentinels, and the replica is in sync.
   */
  async waitUntilReady(timeoutMs = GROUP_READY_MS): Promise<void> {
    await eventually(
      async () => {
        for (const sentinel of this.sentinelServers.filter((s) => s.running)) {
          const master = fields(await sentinel.cli('SENTINEL', 'MASTER', this.name));
          const others = this.sentinelServers.length - 1;
          if (!/^master$/.test(master.flags ?? '')) throw new Error(`${sentinel.address} says the master is ${master.flags}`);
          if (Number(master['num-slaves']) < 1) throw new Error(`${sentinel.address} knows no replica yet`);
          if (Number(master['num-other-sentinels']) < others) {
            throw new Error(`${sentinel.address} knows ${master['num-other-sentinels']} other sentinels, not ${others}`);
          }
        }
        const current = await this.currentMaster();
        for (const server of this.servers.filter((s) => s !== current && s.running)) {
          const info = await server.cli('INFO', 'replication');
          if (!/master_link_status:up/.test(info)) throw new Error(`replica ${server.address} is not in sync`);
        }
        return true;
      },
      { timeoutMs, intervalMs: POLL_MS, what: `the sentinels to agree on ${this.name}, its replica and each other` },
    );
  }

  /** The master as the first sentinel that answers names it. */
  async currentMaster(): Promise<RedisServer> {
    for (const sentinel of this.sentinelServers.filter((s) => s.running)) {
      const reply = await sentinel.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name).catch(() => '');
      const port = Number(reply.trim().split('\n')[1]);
      const server = this.servers.find((s) => s.port === port);
      if (server) return server;
    }
    throw new Error(`no sentinel names a master of ${this.name} that is one of ours`);
  }

  /** The server that is not `master`. */
  other(master: RedisServer): RedisServer {
    return this.servers.find((s) => s !== master)!;
  }

  /** SIGKILL the current master; resolves with it (restart it with `restart()`: the sentinels make it a replica). */
  async killMaster(): Promise<RedisServer> {
    const master = await this.currentMaster();
    await master.kill();
    return master;
  }

  /** SENTINEL FAILOVER (no agreement asked), then wait until every sentinel names the replica and it is master. */
  async sentinelFailover(): Promise<RedisServer> {
    const old = await this.currentMaster();
    const reply = await this.sentinelServers[0]!.cli('SENTINEL', 'FAILOVER', this.name);
    if (!reply.startsWith('OK')) throw new Error(`SENTINEL FAILOVER ${this.name}: ${reply.trim()}`);
    return this.waitForNewMaster(old);
  }

  /** Wait until every running sentinel names another master than `old`, and that server says it is master. */
  async waitForNewMaster(old: RedisServer, timeoutMs = FAILOVER_MS): Promise<RedisServer> {
    return eventually(
      async () => {
        const ports = new Set<number>();
        for (const sentinel of this.sentinelServers.filter((s) => s.running)) {
          const reply = await sentinel.cli('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
          ports.add(Number(reply.trim().split('\n')[1]));
        }
        if (ports.size !== 1 || ports.has(old.port)) throw new Error(`the sentinels name ${[...ports].join(', ')}`);
        const fresh = this.servers.find((s) => ports.has(s.port));
        if (!fresh) throw new Error(`the sentinels name port ${[...ports].join(', ')}, not one of ours`);
        const role = await fresh.cli('ROLE');
        if (!role.startsWith('master')) throw new Error(`${fresh.address} is not master yet`);
        return fresh;
      },
      { timeoutMs, intervalMs: POLL_MS, what: `a new master of ${this.name} instead of ${old.address}` },
    );
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.sentinelServers.map((s) => s.dispose()));
    await this.link.close();
    await Promise.allSettled(this.servers.map((s) => s.dispose()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A reply of alternating field and value lines (SENTINEL MASTER) as a record. */
function fields(reply: string): Record<string, string> {
  const lines = reply.trim().split('\n');
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) record[lines[i]!] = lines[i + 1]!;
  return record;
}

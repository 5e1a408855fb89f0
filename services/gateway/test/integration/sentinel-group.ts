import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, linesOf, RedisServer } from '@switchboard/testkit';

/** The name the Sentinels monitor the master by: REDIS_SENTINEL_NAME's default. */
export const SENTINEL_MASTER_NAME = 'switchboard';
/** A master unanswered this long is down for a Sentinel (`down-after-milliseconds`), ms. */
const DOWN_AFTER_MS = 1_000;
/** A failover not done in this long is tried again (`failover-timeout`), ms. */
const FAILOVER_TIMEOUT_MS = 5_000;
/** Sentinels that must agree a master is down (`quorum`), of three. */
const QUORUM = 2;
const START_TIMEOUT_MS = 10_000;
/** Longest wait for the Sentinels to know each other and the replica, or for a failover to end, ms. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * A master, its replica and three Redis Sentinels watching it, all real
 * processes on free ports of 127.0.0.1, each Sentinel with its config file in a
 * temp folder (Sentinels rewrite theirs). The master can be SIGKILLed or handed
 * over (`SENTINEL FAILOVER`); either way the replica is promoted.
 *
 * A local stand-in for testkit's RedisSentinelGroup (written in parallel); to be
 * merged onto that one.
 */
export class SentinelGroup {
  private readonly sentinelProcesses: ChildProcess[] = [];

  private constructor(
    /** The two servers, the first the master at start. */
    readonly servers: readonly RedisServer[],
    /** The Sentinels' ports. */
    readonly sentinelPorts: readonly number[],
    private readonly dir: string,
  ) {}

  static async start(args: readonly string[] = []): Promise<SentinelGroup> {
    const master = await RedisServer.start({ args });
    const replica = await RedisServer.start({ args: [...args, '--replicaof', '127.0.0.1', String(master.port)] });
    const ports = [await freePort(), await freePort(), await freePort()];
    const group = new SentinelGroup([master, replica], ports, mkdtempSync(join(tmpdir(), 'switchboard-sentinel-')));
    try {
      for (const port of ports) await group.launchSentinel(port, master.port);
      await group.settled();
    } catch (err) {
      await group.dispose();
      throw err;
    }
    return group;
  }

  /** What REDIS_SENTINELS takes: `127.0.0.1:port,...`. */
  get sentinels(): string {
    return this.sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** Run one command on the `i`th Sentinel with redis-cli; its raw output. */
  sentinelCli(i: number, ...args: string[]): Promise<string> {
    return cli(this.sentinelPorts[i]!, args);
  }

  /** The port the Sentinels name as the master's (the first Sentinel that answers). */
  async masterPort(): Promise<number> {
    for (let i = 0; i < this.sentinelPorts.length; i++) {
      const answer = await this.sentinelCli(i, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME).catch(() => undefined);
      const port = Number(answer?.trim().split('\n')[1]);
      if (Number.isInteger(port) && port > 0) return port;
    }
    throw new Error('no Sentinel names a master');
  }

  /** The server the Sentinels name as master now. */
  async master(): Promise<RedisServer> {
    const port = await this.masterPort();
    return this.servers.find((s) => s.port === port)!;
  }

  /** The other server: the replica, or the old master. */
  async replica(): Promise<RedisServer> {
    const port = await this.masterPort();
    return this.servers.find((s) => s.port !== port)!;
  }

  /** SIGKILL the master; resolves once the Sentinels name the replica and it says it is master. */
  async killMaster(): Promise<{ killed: RedisServer; promoted: RedisServer }> {
    const killed = await this.master();
    const promoted = await this.replica();
    await killed.kill();
    await this.untilMaster(promoted);
    return { killed, promoted };
  }

  /**
   * A graceful failover (`SENTINEL FAILOVER`): resolves once the Sentinels name
   * the replica, promoted. The old master becomes its replica some seconds later
   * (settled() waits for that).
   */
  async failover(): Promise<{ demoted: RedisServer; promoted: RedisServer }> {
    const demoted = await this.master();
    const promoted = await this.replica();
    await this.sentinelCli(0, 'SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME);
    await this.untilMaster(promoted);
    return { demoted, promoted };
  }

  /**
   * Every Sentinel names the same master, knows the two others and a replica
   * whose link to the master is up: a failover can then be decided and done.
   */
  async settled(): Promise<void> {
    await eventually(
      async () => {
        const port = await this.masterPort();
        for (let i = 0; i < this.sentinelPorts.length; i++) {
          const named = (await this.sentinelCli(i, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME)).split('\n')[1];
          if (Number(named) !== port) return false;
          const sentinels = await this.sentinelCli(i, 'SENTINEL', 'sentinels', SENTINEL_MASTER_NAME);
          if ((sentinels.match(/^runid$/gm) ?? []).length !== this.sentinelPorts.length - 1) return false;
          const replicas = await this.sentinelCli(i, 'SENTINEL', 'replicas', SENTINEL_MASTER_NAME);
          if (!/^master-link-status\nok$/m.test(replicas) || /_down|disconnected/.test(replicas)) return false;
        }
        return true;
      },
      { what: 'the Sentinels to know each other and a replica in sync', timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 200 },
    );
  }

  /** Start again a server that was killed (the Sentinels make it a replica of the master they name). */
  async restart(server: RedisServer): Promise<void> {
    await server.restart();
    await this.settled();
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.sentinelProcesses.map(stop));
    await Promise.allSettled(this.servers.map((s) => s.dispose()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async untilMaster(server: RedisServer): Promise<void> {
    await eventually(
      async () => (await this.masterPort()) === server.port && /^role:master\r?$/m.test(await server.cli('INFO', 'replication')),
      { what: `127.0.0.1:${server.port} to be the master the Sentinels name`, timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 100 },
    );
  }

  private async launchSentinel(port: number, masterPort: number): Promise<void> {
    const file = join(this.dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} ${QUORUM}`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const child = spawn(binary, [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.sentinelProcesses.push(child);
    const output = linesOf(child.stdout, (line) => line);
    await output.waitFor((line) => line.includes('+monitor master'), START_TIMEOUT_MS, `Sentinel on ${port} to monitor the master`);
  }
}

function cli(port: number, args: readonly string[]): Promise<string> {
  const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
  return new Promise((resolve, reject) => {
    execFile(binary, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 }, (err, stdout) => {
      if (err) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

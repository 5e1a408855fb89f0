import type { Redis } from 'ioredis';
import type { NodeId, Nickname, SessionToken } from '@switchboard/protocol';
import { BusUnavailableError, type HistoryLimits } from '../bus/bus.js';
import { createRedis } from '../bus/redis-connection.js';
import { defineScripts, publishArgs, runScript, type ScriptName } from '../bus/redis-scripts.js';
import type { Identity } from '../hub/peer.js';
import type { Logger } from '../logger.js';
import type { SessionInfo, SessionRegistry } from './session-registry.js';

export interface RedisSessionRegistryOptions extends HistoryLimits {
  readonly url: string;
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
  /** A node whose lease is this old is dead: its sessions start their grace period. In ms. */
  readonly leaseTtlMs: number;
  /** How often this node renews its lease and sweeps ended sessions, in ms. */
  readonly sweepIntervalMs: number;
}

/** Sessions ended per sweep at most; the rest wait for the next sweep. */
const SWEEP_BATCH = 200;
/** How long a detached session's key outlives its grace period, in ms (a safety net; the sweep ends it first). */
const SESSION_KEY_MARGIN_MS = 60_000;

/**
 * Sessions in Redis, shared by every node. Ending a session and announcing its
 * disconnect is one Lua script, so the notice is published exactly once however
 * many nodes sweep, and even if the node that held the session was killed.
 */
export class RedisSessionRegistry implements SessionRegistry {
  private readonly redis: Redis;
  private readonly log: Logger;
  private readonly timers: NodeJS.Timeout[] = [];
  private everReady = false;
  private closed = false;

  constructor(private readonly options: RedisSessionRegistryOptions) {
    this.log = options.logger.child({ module: 'sessions' });
    this.redis = createRedis(options.url, `${options.nodeId}:sessions`, this.log);
    defineScripts(this.redis);
  }

  start(live: () => Iterable<SessionInfo>): void {
    this.redis.on('ready', () => {
      void this.renewLease();
      // Redis came back (maybe empty, maybe after others reaped us): register what we hold again.
      if (this.everReady) void this.restore(live());
      this.everReady = true;
    });
    this.redis.connect().catch(() => undefined);
    const leaseTimer = setInterval(() => void this.renewLease(), Math.max(50, Math.floor(this.options.leaseTtlMs / 3)));
    const sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    for (const timer of [leaseTimer, sweepTimer]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  async create(s: SessionInfo): Promise<void> {
    await this.run('sbSessionCreate', [this.options.prefix, s.token, s.id, s.nickname, this.options.nodeId, s.conn, s.graceMs]);
  }

  async resume(token: SessionToken, conn: string): Promise<Identity | undefined> {
    const reply = (await this.run('sbSessionResume', [this.options.prefix, token, this.options.nodeId, conn])) as
      | [string, string]
      | null;
    return reply ? { id: reply[0], nickname: reply[1] } : undefined;
  }

  async rename(token: SessionToken, nickname: Nickname): Promise<void> {
    await this.run('sbSessionRename', [this.options.prefix, token, nickname]);
  }

  async detach(token: SessionToken, conn: string): Promise<void> {
    await this.run('sbSessionDetach', [this.options.prefix, token, conn, Date.now(), SESSION_KEY_MARGIN_MS]);
  }

  async end(token: SessionToken, conn: string): Promise<void> {
    await this.run('sbSessionEnd', [...publishArgs(this.options), token, conn]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    const { prefix, nodeId } = this.options;
    // Our detached sessions stay in the shared zset: the other nodes end them when their grace passes.
    await this.redis
      .multi()
      .del(`${prefix}:lease:${nodeId}`)
      .srem(`${prefix}:nodes`, nodeId)
      .exec()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not give up the lease'));
    await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }

  private async renewLease(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    const { prefix, nodeId, leaseTtlMs } = this.options;
    await this.redis
      .multi()
      .set(`${prefix}:lease:${nodeId}`, String(Date.now()), 'PX', leaseTtlMs)
      .sadd(`${prefix}:nodes`, nodeId)
      .exec()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'lease not renewed'));
  }

  private async sweep(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    try {
      const [reaped, ended] = (await this.run('sbSweep', [
        ...publishArgs(this.options),
        this.options.nodeId,
        SWEEP_BATCH,
        SESSION_KEY_MARGIN_MS,
      ])) as [number, number];
      if (reaped > 0) this.log.warn({ sessions: reaped }, 'took over the sessions of a dead node');
      if (ended > 0) this.log.info({ sessions: ended }, 'ended sessions whose grace period passed');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweep failed');
    }
  }

  private async restore(sessions: Iterable<SessionInfo>): Promise<void> {
    let count = 0;
    for (const s of sessions) {
      await this.create(s).then(
        () => count++,
        (err: Error) => this.log.warn({ err: err.message, id: s.id }, 'session not restored'),
      );
    }
    if (count > 0) this.log.info({ sessions: count }, 'restored sessions after redis came back');
  }


  private async run(name: ScriptName, args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await runScript(this.redis, name, args);
    } catch (err) {
      throw new BusUnavailableError(`redis ${name} failed: ${(err as Error).message}`);
    }
  }
}

import type { Redis } from 'ioredis';
import { disconnectedNotice, type Identity, type NodeId, type SessionToken } from '@switchboard/protocol';
import type { HistoryLimits } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Resumed, SessionInfo, SessionRegistry } from '../sessions/session-registry.js';
import { createRedis } from './connection.js';
import { RedisKeys } from './keys.js';
import { deadNodes } from './node-liveness.js';
import { defineScripts, publishArgs, runScript, storedNotice } from './scripts.js';

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

/** A leave that could not be written (Redis away): written when Redis is back. */
type PendingLeave =
  | { readonly op: 'end'; readonly token: SessionToken; readonly conn: string; readonly announce: boolean }
  | { readonly op: 'detach'; readonly token: SessionToken; readonly conn: string };

/**
 * Sessions in Redis, shared by every node. Ending a session and announcing its
 * disconnect is one Lua script, so the notice is published exactly once however
 * many nodes sweep, and even if the node that held the session was killed.
 *
 * A node sweeps for dead nodes only after it has itself been connected for a
 * whole lease period, so that after a Redis outage the first node back does not
 * take the others, whose leases lapsed while Redis was away, for dead. A node
 * that finds it was taken for dead anyway (a long pause) registers its sessions
 * again and reports the ones that had been ended.
 */
export class RedisSessionRegistry implements SessionRegistry {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly log: Logger;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending: PendingLeave[] = [];
  private live: () => Iterable<SessionInfo> = () => [];
  private revived: (session: SessionInfo) => void = () => undefined;
  private readonly healthListeners: Array<() => void> = [];
  /** When the connection last became ready (undefined while it is down). */
  private readySince: number | undefined;
  private registered = false;
  /** Nodes found slow (lease lapsed, still connected), each reported once while it stays so. */
  private readonly slowNodes = new Set<NodeId>();
  private everReady = false;
  private closed = false;

  constructor(private readonly options: RedisSessionRegistryOptions) {
    this.log = options.logger.child({ module: 'sessions' });
    this.keys = new RedisKeys(options.prefix);
    this.redis = createRedis(options.url, `${options.nodeId}:sessions`, this.log);
    defineScripts(this.redis);
  }

  start(live: () => Iterable<SessionInfo>, revived: (session: SessionInfo) => void): void {
    this.live = live;
    this.revived = revived;
    this.redis.on('ready', () => {
      this.readySince = Date.now();
      this.reportHealth();
      void this.onReady();
    });
    this.redis.on('close', () => {
      this.readySince = undefined;
      this.reportHealth();
    });
    this.redis.connect().catch(() => undefined);
    const leaseTimer = setInterval(() => void this.renewLease(), Math.max(50, Math.floor(this.options.leaseTtlMs / 3)));
    const sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    for (const timer of [leaseTimer, sweepTimer]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  ready(): boolean {
    return !this.closed && this.redis.status === 'ready';
  }

  onHealthChange(listener: () => void): void {
    this.healthListeners.push(listener);
  }

  async create(s: SessionInfo): Promise<void> {
    await this.register(s);
  }

  async resume(token: SessionToken, conn: string): Promise<Resumed | undefined> {
    const { keys } = this;
    const reply = (await runScript(
      this.redis,
      'sbSessionResume',
      [keys.session(token), keys.tomb(token), keys.detached, keys.nodeSessions(this.options.nodeId)],
      [keys.prefix, token, this.options.nodeId, conn],
    )) as [string, string, 'ended'] | [string, string, 'live', string, string, string, string] | null;
    if (!reply) return undefined;
    const identity = { id: reply[0], nickname: reply[1] };
    if (reply[2] === 'ended') return { identity, live: false };
    const [, , , startEpoch, startSeq, holderNode, holderConn] = reply;
    const start = { epoch: startEpoch, seq: Number(startSeq) };
    return { identity, live: true, start, ...(holderConn === '' ? {} : { holder: { node: holderNode, conn: holderConn } }) };
  }

  async rename(token: SessionToken, who: Identity): Promise<void> {
    await runScript(this.redis, 'sbSessionRename', [this.keys.session(token)], [who.nickname, byeOf(who)]);
  }

  async detach(token: SessionToken, conn: string): Promise<void> {
    await this.leave({ op: 'detach', token, conn });
  }

  async end(token: SessionToken, conn: string, announce: boolean): Promise<void> {
    await this.leave({ op: 'end', token, conn, announce });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    // Give up the lease and nothing else: whatever this node still holds (a leave
    // that could not be written) is then ended by the other nodes' sweeps.
    await this.redis
      .del(this.keys.lease(this.options.nodeId))
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not give up the lease'));
    await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }

  private reportHealth(): void {
    for (const listener of this.healthListeners) listener();
  }

  private async onReady(): Promise<void> {
    await this.renewLease();
    if (this.everReady) {
      // Redis came back (maybe empty, maybe after others took us for dead).
      await this.flushPending();
      // No revival notices here: if Redis came back empty, nobody heard a disconnect.
      await this.restore(false);
    }
    this.everReady = true;
  }

  private async leave(leave: PendingLeave): Promise<void> {
    try {
      await this.writeLeave(leave);
    } catch (err) {
      if (this.closed) throw err;
      this.pending.push(leave);
      this.log.warn({ err: (err as Error).message, op: leave.op }, 'session leave kept until redis is back');
    }
  }

  private async writeLeave(leave: PendingLeave): Promise<void> {
    if (leave.op === 'detach') {
      await runScript(
        this.redis,
        'sbSessionDetach',
        [this.keys.session(leave.token), this.keys.detached],
        [this.keys.prefix, leave.token, leave.conn, Date.now(), SESSION_KEY_MARGIN_MS],
      );
    } else {
      await runScript(
        this.redis,
        'sbSessionEnd',
        [...this.keys.stream, this.keys.session(leave.token), this.keys.detached, this.keys.tomb(leave.token)],
        [...publishArgs(this.options, Date.now()), this.keys.prefix, leave.token, leave.conn, leave.announce ? '1' : '0'],
      );
    }
  }

  private async flushPending(): Promise<void> {
    while (this.pending.length > 0) {
      const leave = this.pending[0]!;
      try {
        await this.writeLeave(leave);
      } catch {
        return; // down again: the next 'ready' goes on from here
      }
      this.pending.shift();
    }
  }

  /** Register a session; true if Redis still had it. */
  private async register(s: SessionInfo): Promise<boolean> {
    const { keys } = this;
    const { nodeId } = this.options;
    const existed = await runScript(
      this.redis,
      'sbSessionCreate',
      [keys.session(s.token), keys.detached, keys.nodeSessions(nodeId)],
      [keys.prefix, s.token, s.id, s.nickname, nodeId, s.conn, s.graceMs, byeOf(s), s.start.epoch, s.start.seq],
    );
    return existed === 1;
  }

  private async renewLease(): Promise<void> {
    if (this.closed || this.redis.status !== 'ready') return;
    const { nodeId, leaseTtlMs } = this.options;
    try {
      const replies = await this.redis
        .multi()
        .set(this.keys.lease(nodeId), String(Date.now()), 'PX', leaseTtlMs)
        .sadd(this.keys.nodes, nodeId)
        .exec();
      const added = replies?.[1]?.[1] === 1;
      if (added && this.registered) {
        this.log.error('this node was taken for dead (its lease lapsed): registering its sessions again');
        await this.restore(true);
      }
      this.registered = true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lease not renewed');
    }
  }

  /**
   * End what others left behind: the sessions of nodes found dead (their lease
   * lapsed and their connections to Redis are gone: a node that is merely slow
   * keeps its clients), and sessions whose grace period passed.
   */
  private async sweep(): Promise<void> {
    if (this.closed || this.readySince === undefined) return;
    // Only a node that has renewed its own lease for a whole period judges the others.
    if (Date.now() - this.readySince < this.options.leaseTtlMs) return;
    try {
      const dead = await this.findDeadNodes();
      const [reaped, ended] = (await runScript(
        this.redis,
        'sbSweep',
        [...this.keys.stream, this.keys.nodes, this.keys.detached],
        [...publishArgs(this.options, Date.now()), this.keys.prefix, this.options.nodeId, SWEEP_BATCH, SESSION_KEY_MARGIN_MS, ...dead],
      )) as [number, number];
      if (reaped > 0) this.log.warn({ sessions: reaped, nodes: dead }, 'took over the sessions of a dead node');
      if (ended > 0) this.log.info({ sessions: ended }, 'ended sessions whose grace period passed');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweep failed');
    }
  }

  /** Nodes whose lease lapsed and that are not merely slow (see node-liveness.ts). */
  private async findDeadNodes(): Promise<NodeId[]> {
    const others = (await this.redis.smembers(this.keys.nodes)).filter((node) => node !== this.options.nodeId);
    if (others.length === 0) return [];
    const leases = await Promise.all(others.map((node) => this.redis.exists(this.keys.lease(node))));
    const lapsed = others.filter((_, i) => leases[i] === 0);
    if (lapsed.length === 0) return [];
    const { dead, slow } = await deadNodes(this.redis, lapsed);
    for (const node of slow) {
      if (this.slowNodes.has(node)) continue;
      this.slowNodes.add(node);
      this.log.warn({ node }, 'a node let its lease lapse but is still connected to redis: slow, not dead; its sessions stay');
    }
    for (const node of this.slowNodes) if (!slow.includes(node)) this.slowNodes.delete(node);
    return dead;
  }

  /** Register every live session again; with `report`, report those that had been ended. */
  private async restore(report: boolean): Promise<void> {
    let count = 0;
    for (const s of this.live()) {
      try {
        if (!(await this.register(s)) && report) this.revived(s);
        count++;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, id: s.id }, 'session not restored');
      }
    }
    if (count > 0) this.log.info({ sessions: count }, 'registered live sessions again');
  }
}

/** A session's disconnect notice as Redis keeps it, to be announced by whichever node ends the session. */
function byeOf(who: Identity): string {
  return storedNotice(disconnectedNotice(who, 0));
}

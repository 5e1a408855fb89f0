import {
  DEFAULT_ROOM,
  RESUME_LIVE_MS,
  presenceNotice,
  summaryNotice,
  type Identity,
  type MemberInfo,
  type NodeId,
  type PresenceEvent,
  type RoomInfo,
  type RoomName,
  type SessionToken,
} from '@switchboard/protocol';
import { nanoid } from 'nanoid';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type {
  Created,
  Detached,
  Joined,
  Members,
  Notice,
  PresenceLimits,
  Resumed,
  SessionInfo,
  SessionRefusal,
  SessionRegistry,
} from './session-registry.js';
import { createRedis, type RedisClient, type RedisTarget } from '../redis/client.js';
import { RedisKeys } from '../redis/keys.js';
import { deadNodes } from '../cluster/node-liveness.js';
import { defineScripts, scriptRunner } from '../redis/scripts.js';
import { SESSION_SCRIPTS } from './redis-session-scripts.js';
import { nicknameKeys } from './nickname-keys.js';

export interface RedisSessionRegistryOptions extends PresenceLimits {
  readonly target: RedisTarget;
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
  /** How long an ended v2 session's identity is kept for its token (the history's age), in ms. */
  readonly historyMaxAgeMs: number;
  /** A node whose lease is this old is dead: its sessions start their grace period. In ms. */
  readonly leaseTtlMs: number;
  /** How often this node renews its lease and sweeps ended sessions, in ms. */
  readonly sweepIntervalMs: number;
  /** How often a crowded room hears the sum of its comings and goings, in ms. */
  readonly summaryIntervalMs: number;
  /** How long a connection must hold its session to be live, in ms (RESUME_LIVE_MS by default). */
  readonly resumeLiveMs?: number;
}

/** Sessions ended per sweep at most; the rest wait for the next sweep. */
const SWEEP_BATCH = 200;
/** How long a detached session's key outlives its grace period, in ms (a safety net; the sweep ends it first). */
const SESSION_KEY_MARGIN_MS = 60_000;
/**
 * A notice still in the outbox this long after it was decided was left behind
 * (its node died, or Redis was away when it tried): a sweep publishes it. In ms.
 */
const OUTBOX_STALE_MS = 5_000;
/** Outbox entries published per sweep at most. */
const OUTBOX_BATCH = 200;

/** A leave that could not be written (Redis away): written when Redis is back. */
type PendingLeave =
  | { readonly op: 'end'; readonly token: SessionToken; readonly conn: string; readonly announce: boolean }
  | { readonly op: 'detach'; readonly token: SessionToken; readonly conn: string };

/** A presence notice as a session script writes it to the outbox. */
interface OutboxEntry {
  readonly room: RoomName;
  readonly event: PresenceEvent;
  readonly id: string;
  readonly nickname: string;
  readonly ref: string;
  readonly time: number;
}

/** Runs one of SESSION_SCRIPTS (defined on the connection with defineScripts). */
const runScript = scriptRunner(SESSION_SCRIPTS);

/**
 * Sessions, presence and nicknames in Redis (one server, or the `{P}` slot of a
 * Redis Cluster), shared by every node. Every change is one script; the presence
 * notices a change implies are decided in the same script and written to an
 * outbox, then published by this node with a ref each (see session-scripts.ts),
 * so each is published exactly once however many nodes sweep, and even if the
 * node that held the session was killed.
 *
 * A node sweeps for dead nodes only after it has itself been connected for a
 * whole lease period, so that after a Redis outage the first node back does not
 * take the others, whose leases lapsed while Redis was away, for dead. A node
 * whose lease lapsed but whose connections are open is slow, not dead
 * (node-liveness.ts). A node that finds it was taken for dead anyway registers
 * its sessions again and reports the ones that had been ended.
 */
export class RedisSessionRegistry implements SessionRegistry {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly log: Logger;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending: PendingLeave[] = [];
  private live: () => Iterable<SessionInfo> = () => [];
  private readonly healthListeners: Array<() => void> = [];
  private readonly resumedListeners: Array<(token: SessionToken) => void> = [];
  private readonly liveMs: number;
  /** When the connection last became ready (undefined while it is down). */
  private readySince: number | undefined;
  private registered = false;
  /** Nodes found slow (lease lapsed, still connected), each reported once while it stays so. */
  private readonly slowNodes = new Set<NodeId>();
  private lastSummary = 0;
  private everReady = false;
  private closed = false;

  constructor(
    private readonly options: RedisSessionRegistryOptions,
    private readonly bus: Bus,
  ) {
    this.log = options.logger.child({ module: 'sessions' });
    this.keys = new RedisKeys(options.prefix);
    this.liveMs = options.resumeLiveMs ?? RESUME_LIVE_MS;
    this.redis = createRedis(options.target, `${options.nodeId}:sessions`, this.log);
    defineScripts(this.redis, SESSION_SCRIPTS);
  }

  start(live: () => Iterable<SessionInfo>): void {
    this.live = live;
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

  async create(session: SessionInfo, announce: boolean): Promise<Created> {
    const reply = await this.register(session, announce ? 'always' : 'never');
    if (reply[0] !== 'ok') return { ok: false, reason: reply[0] };
    return { ok: true, notices: this.noticesOf([reply[2]]) };
  }

  async resume(token: SessionToken, conn: string, user?: string): Promise<Resumed | undefined> {
    const { keys, options } = this;
    const reply = (await runScript(
      this.redis,
      'sbSessionResume',
      [keys.session(token), keys.tomb(token)],
      [
        keys.control,
        token,
        options.nodeId,
        conn,
        Date.now(),
        this.liveMs,
        options.presenceNoticeLimit,
        options.historyMaxAgeMs,
        SESSION_KEY_MARGIN_MS,
        user ?? '',
      ],
    )) as [string, string, 'ended', string, string] | [string, string, 'live', string, string, string, string, string] | null;
    if (!reply) return undefined;
    const identity = { id: reply[0], nickname: reply[1] };
    if (reply[2] === 'ended') {
      // Ended here (its wait was over): its disconnect is out before the caller starts anew.
      await this.announce(this.noticesOf([reply[4]]));
      return { identity, live: false, liveAt: reply[3] === '' ? Date.now() : Number(reply[3]) };
    }
    const [, , , startEpoch, startSeq, holderNode, holderConn, room] = reply;
    const start = { epoch: startEpoch, seq: Number(startSeq) };
    return { identity, live: true, start, room, ...(holderConn === '' ? {} : { holder: { node: holderNode, conn: holderConn } }) };
  }

  async rename(token: SessionToken, who: Identity): Promise<'ok' | 'nick-taken'> {
    const { keys } = this;
    const reply = (await runScript(
      this.redis,
      'sbSessionRename',
      [keys.session(token), keys.nicks],
      [keys.control, token, who.nickname, nicknameKeys(who.nickname).join('\n')],
    )) as 'ok' | 'nick-taken' | 'gone';
    return reply === 'nick-taken' ? 'nick-taken' : 'ok';
  }

  async join(token: SessionToken, conn: string, room: RoomName): Promise<Joined> {
    const { keys, options } = this;
    const reply = (await runScript(
      this.redis,
      'sbSessionJoin',
      [keys.session(token)],
      [
        keys.control,
        token,
        conn,
        room,
        Date.now(),
        options.maxRooms,
        DEFAULT_ROOM,
        options.presenceNoticeLimit,
        options.joinNoticeRatePerSec,
        options.joinNoticeBurst,
      ],
    )) as ['ok', RoomName, string, string] | ['same'] | ['room-limit'] | ['not-held'];
    if (reply[0] === 'ok') return { ok: true, from: reply[1], notices: this.noticesOf([reply[2], reply[3]]) };
    return { ok: false, reason: reply[0] === 'same' ? 'same-room' : reply[0] };
  }

  async members(room: RoomName, max: number): Promise<Members> {
    const [count, ...entries] = (await runScript(this.redis, 'sbMembers', [this.keys.members(room)], [max])) as [number, ...string[]];
    return { count, members: entries.map((entry) => JSON.parse(entry) as MemberInfo) };
  }

  async rooms(max: number): Promise<readonly RoomInfo[]> {
    const flat = await this.redis.zrevrange(this.keys.rooms, 0, max - 1, 'WITHSCORES');
    const rooms: RoomInfo[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) rooms.push({ room: flat[i]!, count: Number(flat[i + 1]) });
    return rooms;
  }

  async announce(notices: readonly Notice[]): Promise<void> {
    for (const notice of notices) {
      try {
        await this.bus.publish(notice.draft, notice.once);
        await this.redis.zrem(this.keys.outbox, notice.key);
      } catch (err) {
        // Left in the outbox: a sweep publishes it (its ref makes a second publish harmless).
        this.log.warn({ err: (err as Error).message, room: notice.draft.room }, 'notice not published yet; the outbox keeps it');
      }
    }
  }

  async detach(token: SessionToken, conn: string): Promise<Detached> {
    const until = await this.leave({ op: 'detach', token, conn });
    return until === 'kept' ? 'kept' : until === undefined ? 'not-held' : { until };
  }

  async end(token: SessionToken, conn: string, announce: boolean): Promise<void> {
    await this.leave({ op: 'end', token, conn, announce });
  }

  async expire(token: SessionToken, conn: string): Promise<void> {
    const { keys, options } = this;
    const entry = (await runScript(
      this.redis,
      'sbSessionExpire',
      [keys.session(token)],
      [keys.control, token, conn, Date.now(), options.presenceNoticeLimit, options.historyMaxAgeMs],
    )) as string;
    await this.announce(this.noticesOf([entry]));
  }

  onResumedElsewhere(listener: (token: SessionToken) => void): void {
    this.resumedListeners.push(listener);
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

  /** Write a leave; for a detach, when the session's wait ends (undefined: not held). 'kept' when Redis is away. */
  private async leave(leave: PendingLeave): Promise<number | undefined | 'kept'> {
    try {
      return await this.writeLeave(leave);
    } catch (err) {
      if (this.closed) throw err;
      this.pending.push(leave);
      this.log.warn({ err: (err as Error).message, op: leave.op }, 'session leave kept until redis is back');
      return 'kept';
    }
  }

  private async writeLeave(leave: PendingLeave): Promise<number | undefined> {
    const { keys, options } = this;
    if (leave.op === 'detach') {
      const until = (await runScript(
        this.redis,
        'sbSessionDetach',
        [keys.session(leave.token)],
        [keys.control, leave.token, leave.conn, Date.now(), SESSION_KEY_MARGIN_MS, this.liveMs],
      )) as number | null;
      return until ?? undefined;
    }
    const [, entry] = (await runScript(
      this.redis,
      'sbSessionEnd',
      [keys.session(leave.token)],
      [keys.control, leave.token, leave.conn, leave.announce ? '1' : '0', Date.now(), options.presenceNoticeLimit, options.historyMaxAgeMs],
    )) as [number, string];
    await this.announce(this.noticesOf([entry]));
    return undefined;
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

  /** Register a session (again), deciding its `connected` notice as `announce` says (see sbSessionCreate); the script's answer. */
  private async register(s: SessionInfo, announce: 'always' | 'if-ended' | 'never'): Promise<['ok', number, string] | [SessionRefusal]> {
    const { keys, options } = this;
    const { nodeId } = options;
    return (await runScript(
      this.redis,
      'sbSessionCreate',
      [keys.session(s.token), keys.nicks],
      [
        keys.control,
        s.token,
        s.id,
        s.nickname,
        nicknameKeys(s.nickname).join('\n'),
        nodeId,
        s.conn,
        s.graceMs,
        s.start.epoch,
        s.start.seq,
        s.room,
        Date.now(),
        options.maxRooms,
        DEFAULT_ROOM,
        options.presenceNoticeLimit,
        announce,
        nanoid(12),
        s.liveAt ?? '',
        s.user ?? '',
      ],
    )) as ['ok', number, string] | [SessionRefusal];
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
   * keeps its clients), sessions whose grace period passed, and notices left in
   * the outbox; and publish the summed presence of crowded rooms.
   */
  private async sweep(): Promise<void> {
    if (this.closed || this.readySince === undefined) return;
    await this.takeResumedElsewhere();
    // Only a node that has renewed its own lease for a whole period judges the others.
    if (Date.now() - this.readySince < this.options.leaseTtlMs) return;
    const { keys, options } = this;
    try {
      const dead = await this.findDeadNodes();
      const [reaped, ...entries] = (await runScript(
        this.redis,
        'sbSweep',
        [keys.nodes],
        [
          keys.control,
          options.nodeId,
          Date.now(),
          SWEEP_BATCH,
          SESSION_KEY_MARGIN_MS,
          options.presenceNoticeLimit,
          options.historyMaxAgeMs,
          this.liveMs,
          ...dead,
        ],
      )) as [number, ...string[]];
      if (reaped > 0) this.log.warn({ sessions: reaped, nodes: dead }, 'took over the sessions of a dead node');
      if (entries.length > 0) this.log.info({ sessions: entries.length }, 'ended sessions whose grace period passed');
      await this.announce(this.noticesOf(entries));
      const stale = (await runScript(this.redis, 'sbOutboxStale', [keys.outbox], [Date.now() - OUTBOX_STALE_MS, OUTBOX_BATCH])) as string[];
      if (stale.length > 0) this.log.warn({ notices: stale.length }, 'publishing notices left in the outbox');
      await this.announce(this.noticesOf(stale));
      await this.publishSummaries();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sweep failed');
    }
  }

  /** Tell the listeners of the sessions that dropped here and were resumed on another node since the last sweep. */
  private async takeResumedElsewhere(): Promise<void> {
    if (this.resumedListeners.length === 0) return;
    try {
      const tokens = (await runScript(this.redis, 'sbTakeResumedFrom', [this.keys.resumedFrom(this.options.nodeId)], [])) as string[];
      for (const token of tokens) for (const listener of this.resumedListeners) listener(token);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'sessions resumed elsewhere not read');
    }
  }

  /**
   * The summed comings and goings of crowded rooms (and moves past a room's
   * budget), taken and published by one node of the cluster each summaryIntervalMs.
   */
  private async publishSummaries(): Promise<void> {
    const { summaryIntervalMs } = this.options;
    if (Date.now() - this.lastSummary < summaryIntervalMs) return;
    this.lastSummary = Date.now();
    const flat = (await runScript(
      this.redis,
      'sbTakeSummaries',
      [this.keys.summary, this.keys.summaryTurn],
      [summaryIntervalMs],
    )) as string[];
    const sums = new Map<RoomName, { joined: number; left: number }>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [room, kind] = flat[i]!.split('\n') as [RoomName, 'joined' | 'left'];
      const sum = sums.get(room) ?? { joined: 0, left: 0 };
      sum[kind] += Number(flat[i + 1]);
      sums.set(room, sum);
    }
    for (const [room, { joined, left }] of sums) {
      await this.bus.publish(summaryNotice(room, joined, left, Date.now())).catch((err: Error) => {
        this.log.warn({ err: err.message, room }, 'presence summary not published');
      });
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

  /**
   * Register every live session again. With `announce`, each one that had been
   * ended meanwhile (its disconnect was announced though the client is still
   * here) is announced connected again, through the outbox like every notice:
   * published once, even if the bus is not back yet (the sweep retries it).
   */
  private async restore(announce: boolean): Promise<void> {
    let count = 0;
    for (const s of this.live()) {
      try {
        const reply = await this.register(s, announce ? 'if-ended' : 'never');
        if (reply[0] === 'ok') await this.announce(this.noticesOf([reply[2]]));
        count++;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, id: s.id }, 'session not restored');
      }
    }
    if (count > 0) this.log.info({ sessions: count }, 'registered live sessions again');
  }

  /** The notices behind outbox entries ('' for none). */
  private noticesOf(entries: readonly string[]): Notice[] {
    return entries
      .filter((entry) => entry !== '')
      .map((entry) => {
        const e = JSON.parse(entry) as OutboxEntry;
        return { draft: presenceNotice(e.event, e, e.room, e.time), once: e.ref, key: entry };
      });
  }
}

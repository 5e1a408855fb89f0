import {
  isBroadcastEvent,
  validateServerFrame,
  type BroadcastEvent,
  type EventDraft,
  type NodeId,
  type Position,
  type RoomName,
} from '@switchboard/protocol';
import {
  BusUnavailableError,
  type Bus,
  type BusEventHandler,
  type BusHealth,
  type BusLimits,
  type PausableReads,
  type HistoryRefusal,
  type HistoryResult,
  type PublishResult,
  type RecentLines,
  type ReplayBounds,
} from './bus.js';
import type { Logger } from '../logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import { createRedis, type RedisClient, type RedisTarget } from '../redis/client.js';
import { onShardSubscriberBack, socketsOf } from '../platform/ioredis-cluster.js';
import { onTopologyRefreshed, restartSubscriber } from '../platform/ioredis-topology.js';
import { Cluster } from 'ioredis';
import { ShardMap } from './shard-map.js';
import { ShardWatchdog } from './shard-watchdog.js';
import { TopologyFollower } from './topology-follower.js';
import { SocketReadPause } from '../platform/socket-read-pause.js';
import { RedisKeys, type RoomKeys } from '../redis/keys.js';
import { ReplicaCounts, type MinReplicasAck } from '../redis/replica-counts.js';
import { defineScripts, type AskReplicaWait } from '../redis/scripts.js';
import { BUS_SCRIPTS, runBusScript, runBusScriptThenWait, scriptBody, streamArgs, type BusScriptName } from './redis-bus-scripts.js';
import { keepAliveIntervalMs, roomLifetimes, type RoomLifetimes } from './room-lifetimes.js';
import { GuestNumbers } from './guest-numbers.js';
import { ShardWaitGate } from './shard-wait-gate.js';

/** How Redis words a write refused past `maxmemory`. */
const OUT_OF_MEMORY = /\bOOM\b/;
/** How often a bus that found Redis full tries a small write to see whether it has room again, in ms. */
const MEMORY_PROBE_INTERVAL_MS = 1_000;
/** The settings' defaults (config/gateway-config.ts), for a bus made without them (tests). */
const TOPOLOGY_REFRESH_INTERVAL_MS = 3_000;
const SHARD_PROBE_INTERVAL_MS = 1_000;
const SHARD_PROBE_TIMEOUT_MS = 3_000;
/** A shard that stays silent has its subscriber started over on its 2nd mend, then on every this many. */
const RESTART_EVERY_MENDS = 10;
/** How long after a failed SSUBSCRIBE (on a connection still up) every room is subscribed again, in ms. */
const RESUBSCRIBE_RETRY_MS = 500;
/** How often each shard's replicas are counted (ReplicaCounts), in ms. */
const REPLICA_CHECK_INTERVAL_MS = 1_000;

/** What a publish waits for before its event counts as sent (see RedisBus.publish). */
export interface ReplicaAckOptions {
  /** REDIS_MIN_REPLICAS_ACK: `auto` (1 on a shard with a replica, 0 without) or exactly that many. */
  readonly redisMinReplicasAck?: MinReplicasAck;
  /** REDIS_WAIT_TIMEOUT_MS: the longest a publish waits for them, in ms; past it the event is refused. */
  readonly redisWaitTimeoutMs?: number;
  /** REPLICA_FORGET_MS: how long a server that lost its replica is still waited on as if it had one, in ms. */
  readonly replicaForgetMs?: number;
}

export interface RedisBusOptions extends BusLimits, ReplicaAckOptions {
  readonly target: RedisTarget;
  /** Prefix of the channels and keys (see keys.ts). */
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
  /** The clock that dates events (history trimming by age); Date.now by default. */
  readonly now?: () => number;
  /** Where reconnects are counted (none by default). */
  readonly metrics?: Metrics;
  /** TOPOLOGY_REFRESH_INTERVAL_MS, SHARD_PROBE_INTERVAL_MS, SHARD_PROBE_TIMEOUT_MS (the settings' defaults when unset). */
  readonly topologyRefreshIntervalMs?: number;
  readonly shardProbeIntervalMs?: number;
  readonly shardProbeTimeoutMs?: number;
}

/**
 * The cluster bus over Redis (one server, or a Redis Cluster): per room, a Lua
 * script gives each event its seq, stores it in a bounded stream (the history)
 * and publishes it on the room's sharded channel (SPUBLISH), all at once; every
 * key and the channel of a room share a hash tag, so a room lives on one shard
 * and rooms spread over the shards. A node subscribes (SSUBSCRIBE) to a room
 * only while it has members there, so it hears nothing of rooms it does not serve.
 *
 * Two connections, as Redis requires: one runs commands, the other only
 * subscribes. Both reconnect forever; the subscriber subscribes again to every
 * room on every reconnect, and health() is ready only while both are up and
 * subscribed. Nothing is queued while Redis is away: publish() fails at once
 * with BusUnavailableError.
 *
 * Every key of a room expires unless a node serves the room: each node renews
 * the keys of the rooms it subscribes to every keepAliveIntervalMs(), and once
 * more when it leaves one, so a room nobody uses is forgotten one of its
 * lifetimes (room-lifetimes.ts) after its last use, and a Redis filled by rooms
 * that came and went empties by itself.
 *
 * Pub/sub can also stop delivering without a word: the subscriber follows the
 * cluster's topology (TopologyFollower: slot moves and failovers), and a
 * watchdog (ShardWatchdog) probes every shard's delivery; a shard it does not
 * hear makes health() not ready, naming it, until it is mended and heard again.
 */
export class RedisBus implements Bus {
  private readonly keys: RedisKeys;
  private readonly pub: RedisClient;
  private readonly sub: RedisClient;
  private readonly log: Logger;
  /** The history's bounds and the rooms' lifetimes, as the scripts get them (streamArgs). */
  private readonly limits: BusLimits & RoomLifetimes;
  private handler: BusEventHandler | undefined;
  /** The rooms this node wants; `channels` maps their channels back to them. */
  private readonly rooms = new Set<RoomName>();
  private readonly channels = new Map<string, RoomName>();
  /** Whether the subscriber has (re)subscribed to every room since it last connected. */
  private subscribed = false;
  /** Redis refused a write for want of memory, and no probe write has succeeded since. */
  private full = false;
  private closing = false;
  private lastHealth: BusHealth = { ready: false, reason: 'connecting to redis' };
  /** Steps towards the first `bus ready` are start-up, not news: logged at debug. */
  private everReady = false;
  private readonly healthListeners: Array<(health: BusHealth) => void> = [];
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** Stops listening for a shard's subscriber coming back (see start()). */
  private stopShardWatch: (() => void) | undefined;
  /** Stops counting the replicas again whenever the publisher has read the slots again (see start()). */
  private stopRecount: (() => void) | undefined;
  private readonly topology: TopologyFollower;
  private readonly watchdog: ShardWatchdog;
  private readonly shards: ShardMap;
  /** How many replicas a publish to each shard waits for. */
  private readonly replicas: ReplicaCounts;
  /** Which shards' publishes may wait now (after a WAIT fell short, one at a time). */
  private readonly waits = new ShardWaitGate();
  /** Default-nickname numbers, one INCRBY for all the joins asking at once. */
  private readonly guests = new GuestNumbers(async (by) => {
    try {
      return await this.pub.incrby(this.keys.guestCounter, by);
    } catch (err) {
      throw new BusUnavailableError(`redis INCRBY failed: ${(err as Error).message}`);
    }
  });
  /** Both connections' reading, paused between flushes while the node is busy (see PausableReads). */
  readonly reads: PausableReads = new SocketReadPause(() => [...socketsOf(this.pub), ...socketsOf(this.sub)]);

  constructor(private readonly options: RedisBusOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.log = options.logger.child({ module: 'redis-bus' });
    this.limits = { ...options, ...roomLifetimes(options) };
    // No auto-pipelining: ioredis builds a Pipeline per turn for it, copying every
    // defined script onto it, which cost more than the write it saves (bench/RESULTS.md).
    this.pub = createRedis(options.target, `${options.nodeId}:pub`, this.log);
    this.sub = createRedis(options.target, `${options.nodeId}:sub`, this.log, { autoResubscribe: false, shardedSubscriber: true });
    defineScripts(this.pub, BUS_SCRIPTS);
    this.shards = new ShardMap(this.pub, this.keys, options.nodeId);
    this.topology = new TopologyFollower(this.pub, this.sub, {
      intervalMs: options.topologyRefreshIntervalMs ?? TOPOLOGY_REFRESH_INTERVAL_MS,
      channels: () => this.listened(),
      resubscribe: (channels) => this.resubscribeChannels(channels),
      log: this.log,
    });
    this.watchdog = new ShardWatchdog({
      nodeId: options.nodeId,
      intervalMs: options.shardProbeIntervalMs ?? SHARD_PROBE_INTERVAL_MS,
      timeoutMs: options.shardProbeTimeoutMs ?? SHARD_PROBE_TIMEOUT_MS,
      shards: () => this.shards.probeTargets(),
      shardOf: (channel) => this.shards.shardOf(channel),
      subscribe: async (channel) => {
        await this.sub.ssubscribe(channel);
      },
      unsubscribe: async (channel) => {
        await this.sub.sunsubscribe(channel);
      },
      publish: async (channel, payload) => {
        await this.pub.spublish(channel, payload);
      },
      mend: (shard, attempt) => this.mend(shard, attempt),
      onChange: () => this.reportHealth(),
      judging: () => this.connectionHealth().ready,
      log: this.log,
      metrics: options.metrics ?? noMetrics,
    });
    this.replicas = new ReplicaCounts(this.pub, {
      minReplicasAck: options.redisMinReplicasAck ?? 'auto',
      replicaForgetMs: options.replicaForgetMs ?? 30_000,
      checkIntervalMs: REPLICA_CHECK_INTERVAL_MS,
      logger: this.log,
      onCounted: () => this.reportHealth(),
    });
  }

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
    this.watch(this.pub, 'pub');
    this.watch(this.sub, 'sub');
    this.sub.on('ready', () => void this.resubscribe());
    // Redis Cluster: a shard's subscriber came (back): events of its rooms may have been missed meanwhile,
    // so the listeners hear "ready" again and every room catches up from its history.
    this.stopShardWatch = onShardSubscriberBack(this.sub, (cameBack) => {
      // Lines published while it was away come from the history now, not live: the watchdog waits for none of them.
      if (cameBack) this.watchdog.forgetEchoes();
      if (this.health().ready) for (const listener of this.healthListeners) listener(this.health());
    });
    this.sub.on('smessage', (channel: string, payload: string) => this.onMessage(channel, payload));
    // connect() rejects on the first failure, but ioredis keeps retrying by itself.
    this.replicas.start();
    // A failover the publisher has just followed: a promoted replica has no replica of its own, and a line
    // must not wait for one that is not there (every WAIT would fall short until the next count).
    if (this.pub instanceof Cluster) this.stopRecount = onTopologyRefreshed(this.pub, () => void this.replicas.refresh());
    this.pub.connect().catch(() => undefined);
    this.sub.connect().catch(() => undefined);
    this.keepAliveTimer = setInterval(() => {
      for (const room of this.rooms) this.keepAlive(room);
    }, keepAliveIntervalMs(this.limits));
    this.keepAliveTimer.unref();
    this.topology.start();
    this.watchdog.start();
  }

  async subscribe(room: RoomName): Promise<void> {
    const channel = this.keys.room(room).channel;
    this.rooms.add(room);
    this.channels.set(channel, room);
    try {
      await this.sub.ssubscribe(channel);
    } catch (err) {
      // Kept in `rooms`: the next reconnect subscribes to it.
      throw new BusUnavailableError(`redis SSUBSCRIBE failed: ${(err as Error).message}`);
    }
    // Keys the room already has live on from now; those it does not have yet get their TTL when made.
    this.keepAlive(room);
  }

  async unsubscribe(room: RoomName): Promise<void> {
    const channel = this.keys.room(room).channel;
    this.rooms.delete(room);
    this.channels.delete(channel);
    this.watchdog.forget(channel);
    // Its last use here: the room's lifetime counts from now.
    this.keepAlive(room);
    await this.sub.sunsubscribe(channel).catch((err: Error) => this.log.warn({ room, err: err.message }, 'unsubscribe failed'));
  }

  subscriptions(): ReadonlySet<RoomName> {
    return this.rooms;
  }

  /**
   * On a shard with replicas to wait for (REDIS_MIN_REPLICAS_ACK), in two
   * phases: the script stores the event (or finds the ref's original), then WAIT
   * follows it for the replicas the shard has then; only once enough have it is it
   * published (SPUBLISH), so neither its echo nor an `ack` can be seen for an event
   * a failover would lose. Short of them within REDIS_WAIT_TIMEOUT_MS, it is
   * refused (BusUnavailableError): the client resends the same ref, which finds
   * the stored original, and publishes it once replicas have it. While a shard's
   * last WAIT fell short, one publish at a time waits on it; the others are
   * refused at once (WAIT holds the connection: they would queue behind it).
   * With none to wait for, the script publishes the event itself: no extra
   * round trip.
   */
  async publish(draft: EventDraft, once?: string): Promise<PublishResult> {
    const room = this.keys.room(draft.room);
    const [refs, ref] = once === undefined ? [room.refs(draft.id), draft.ref ?? ''] : [room.once, once];
    const needed = this.replicas.needed(room.channel);
    const keys = [...room.stream, refs];
    const args = [
      ...this.args(),
      scriptBody(draft),
      ref,
      this.options.refsPerClient,
      draft.type === 'message' ? '1' : '0',
      needed > 0 ? '0' : '1',
    ];
    let reply: [number, string, number, string];
    if (needed === 0) reply = (await this.run('sbPublish', keys, args)) as typeof reply;
    else {
      const shard = this.replicas.shardOf(room.channel);
      if (!this.waits.enter(shard)) throw new BusUnavailableError(`redis replicas are behind (shard ${shard}): not sent`);
      const timeoutMs = this.options.redisWaitTimeoutMs ?? 1_000;
      let got = 0;
      // Counted again once the script has run: it may have waited out a failover, and run on a promoted replica.
      let waitedFor = needed;
      try {
        let recounted = false;
        const waited = await this.runThenWait('sbPublish', keys, args, (fellShort) => {
          // Its first slice fell short: count again (a promoted replica has none of its own); later slices see the count.
          if (fellShort && !recounted) {
            recounted = true;
            void this.replicas.refresh();
          }
          return { replicas: this.replicas.needed(room.channel), timeoutMs };
        });
        got = waited.replicas;
        waitedFor = waited.needed;
        reply = waited.reply as typeof reply;
      } finally {
        const news = this.waits.leave(shard, got >= waitedFor);
        if (news === 'fell short') this.log.warn({ shard, needed: waitedFor, got, timeoutMs }, 'replicas behind: publishes refused');
        if (news === 'caught up') this.log.info({ shard }, 'replicas caught up: publishes acknowledged again');
      }
      if (got < waitedFor) {
        void this.replicas.refresh();
        throw new BusUnavailableError(
          `${got} of ${waitedFor} redis replicas (shard ${shard}) had the event within ${timeoutMs} ms: not sent`,
        );
      }
    }
    const [seq, epoch, duplicate, event] = reply;
    // Its event is published here: after WAIT, or a duplicate (its original may have been refused, so never published).
    if (event !== '' && (await this.run('sbRelease', room.stream, [...this.args(), seq, event, duplicate === 1 ? '1' : '0'])) !== 1) {
      throw new BusUnavailableError(`the history no longer holds the event at ${seq} (a failover, or a new epoch): not sent`);
    }
    // The line should come back through this node's subscriber: the watchdog waits for it.
    if (duplicate !== 1 && this.rooms.has(draft.room)) this.watchdog.expect(room.channel, seq);
    return { seq, epoch, duplicate: duplicate === 1 };
  }

  async history(room: RoomName, since: Position, bounds: ReplayBounds = {}): Promise<HistoryResult> {
    const { maxEvents = Number.MAX_SAFE_INTEGER, maxBytes = Number.MAX_SAFE_INTEGER } = bounds;
    return this.historyReply(await this.runOn(room, 'sbHistory', [since.seq, since.epoch, maxEvents, maxBytes]));
  }

  async historyPage(room: RoomName, since: Position, limit: number, heard = 0): Promise<HistoryResult> {
    return this.historyReply(await this.runOn(room, 'sbHistoryPage', [since.seq, since.epoch, limit, heard]));
  }

  async head(room: RoomName): Promise<Position> {
    const [epoch, seq] = (await this.runOn(room, 'sbHead', [])) as [string, number];
    return { epoch, seq };
  }

  async recent(room: RoomName, count: number): Promise<RecentLines> {
    const [epoch, seq, ...payloads] = (await this.runOn(room, 'sbRecent', [count])) as [string, number, ...string[]];
    return { head: { epoch, seq }, lines: this.parseAll(payloads) };
  }

  async renewEpoch(room: RoomName, stale: string, agreed = Number.MAX_SAFE_INTEGER): Promise<Position> {
    const [epoch, seq] = (await this.runOn(room, 'sbRenewEpoch', [stale, agreed])) as [string, number];
    return { epoch, seq };
  }

  nextGuestNumber(): Promise<number> {
    return this.guests.next();
  }

  health(): BusHealth {
    const connections = this.connectionHealth();
    if (!connections.ready) return connections;
    const unheard = this.watchdog.unheard();
    if (unheard.length > 0) {
      const named = unheard.map(({ shard, why }) => `${shard} (${why})`).join(', ');
      return { ready: false, reason: `redis shard not heard: ${named}; mending`, unheardShards: unheard.map(({ shard }) => shard) };
    }
    return connections;
  }

  /** Whether the connections are up, subscribed and Redis has room (all but what the watchdog hears). */
  private connectionHealth(): BusHealth {
    if (this.closing) return { ready: false, reason: 'bus closed' };
    if (this.pub.status !== 'ready') return { ready: false, reason: `redis publisher ${this.pub.status}` };
    if (this.sub.status !== 'ready') return { ready: false, reason: `redis subscriber ${this.sub.status}` };
    if (!this.subscribed) return { ready: false, reason: 'redis subscription pending' };
    if (!this.replicas.counted()) return { ready: false, reason: 'counting redis replicas' };
    if (this.full) return { ready: false, reason: 'redis is out of memory (maxmemory reached): nothing can be sent' };
    return { ready: true };
  }

  onHealthChange(listener: (health: BusHealth) => void): void {
    this.healthListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.keepAliveTimer);
    this.stopShardWatch?.();
    this.stopRecount?.();
    this.topology.stop();
    this.watchdog.stop();
    this.replicas.stop();
    this.handler = undefined;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  /** After the subscriber (re)connects: subscribe to every room wanted, then say the bus is ready. */
  private async resubscribe(): Promise<void> {
    this.subscribed = false;
    const channels = [...this.channels.keys()];
    try {
      // All at once: on a Redis Cluster each goes to its own shard, and one shard that does not answer
      // (paused, failing over) does not hold up the rooms of the others.
      const results = await Promise.allSettled(channels.map((channel) => this.sub.ssubscribe(channel)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      this.watchdog.listenAgain();
      this.subscribed = true;
      this.log.info({ rooms: channels.length }, 'subscribed');
    } catch (err) {
      // The connection dropped again (the next 'ready' subscribes once more), or a shard's subscriber is not there yet.
      this.log.warn({ err: (err as Error).message }, 'subscribe failed');
      if (this.sub.status === 'ready' && !this.closing) setTimeout(() => this.retrySubscribe(), RESUBSCRIBE_RETRY_MS).unref();
    }
    this.reportHealth();
  }

  /** Subscribe again after a failure while the connection stayed up; not if a reconnect did it meanwhile. */
  private retrySubscribe(): void {
    if (!this.subscribed && this.sub.status === 'ready' && !this.closing) void this.resubscribe();
  }

  /** Renew the keys of a room this node serves (see sbKeepAlive); best effort. */
  private keepAlive(room: RoomName): void {
    this.runOn(room, 'sbKeepAlive', []).catch((err: Error) => this.log.debug({ room, err: err.message }, 'room keys not renewed'));
  }

  /** Stream arguments as of now. */
  private args(): Array<string | number> {
    return streamArgs(this.limits, (this.options.now ?? Date.now)());
  }

  /** Run a stream script of `room` with its keys and the stream arguments first. */
  private runOn(room: RoomName, name: BusScriptName, args: ReadonlyArray<string | number>): Promise<unknown> {
    const keys: RoomKeys = this.keys.room(room);
    return this.run(name, keys.stream, [...this.args(), ...args]);
  }

  /**
   * Run a script on the command connection. A Redis past its `maxmemory` (with
   * `noeviction`, as it should be: evicting would silently lose history) refuses
   * writes: that is an outage like any other: the bus says not ready until a
   * probe write succeeds again.
   */
  private async run(name: BusScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await runBusScript(this.pub, name, keys, args);
    } catch (err) {
      if (OUT_OF_MEMORY.test((err as Error).message)) this.markFull();
      this.topology.noticeError(err);
      throw err;
    }
  }

  /** Run a script, then WAIT for the replicas `wait` names once it has run (see scriptThenWait), as run() does. */
  private async runThenWait(name: BusScriptName, keys: readonly string[], args: ReadonlyArray<string | number>, wait: AskReplicaWait) {
    try {
      return await runBusScriptThenWait(this.pub, name, keys, args, wait);
    } catch (err) {
      if (OUT_OF_MEMORY.test((err as Error).message)) this.markFull();
      // A MOVED or CLUSTERDOWN here is news of a failover for the subscriber too.
      this.topology.noticeError(err);
      throw err;
    }
  }

  private markFull(): void {
    if (this.full) return;
    this.full = true;
    this.log.error('redis is out of memory (maxmemory): refusing to send until it has room again');
    this.reportHealth();
    const probe = setInterval(() => {
      this.pub.set(this.keys.probe(this.options.nodeId), '1', 'PX', MEMORY_PROBE_INTERVAL_MS * 5).then(
        () => {
          clearInterval(probe);
          this.full = false;
          this.log.info('redis has room again');
          this.reportHealth();
        },
        () => undefined,
      );
    }, MEMORY_PROBE_INTERVAL_MS);
    probe.unref();
  }

  /** {epoch, head, reason, since, events...} as the history scripts answer. */
  private historyReply(reply: unknown): HistoryResult {
    const [epoch, seq, reason, since, ...payloads] = reply as [string, number, HistoryRefusal | '', number, ...string[]];
    const head = { epoch, seq };
    if (reason !== '') return { ok: false, head, reason };
    return { ok: true, head, since: { epoch, seq: since }, events: this.parseAll(payloads) };
  }

  private parseAll(payloads: readonly string[]): BroadcastEvent[] {
    const events: BroadcastEvent[] = [];
    for (const payload of payloads) {
      const event = this.parse(payload);
      if (event) events.push(event);
    }
    return events;
  }

  private watch(conn: RedisClient, role: 'pub' | 'sub'): void {
    conn.on('ready', () => {
      this.log.info({ role }, 'redis connection ready');
      this.reportHealth();
    });
    conn.on('close', () => {
      if (role === 'sub') this.subscribed = false;
      this.reportHealth();
    });
    conn.on('reconnecting', () => this.options.metrics?.redisReconnect());
  }

  private onMessage(channel: string, payload: string): void {
    if (!this.handler) return;
    if (!this.channels.has(channel)) {
      if (this.watchdog.isProbe(channel)) this.watchdog.heard(channel, payload);
      return;
    }
    const event = this.parse(payload);
    if (!event) return;
    this.watchdog.arrived(channel, event.seq);
    this.handler(event);
  }

  /** The rooms' channels the subscriber should listen to (the watchdog keeps its probe channels itself). */
  private listened(): string[] {
    return [...this.channels.keys()];
  }

  /**
   * Subscribe `channels` again (on the masters that own them now: after a
   * failover, a slot move, or a subscription the server dropped silently), then
   * let every room catch up from its history, as after a reconnect: what was
   * published while they were not heard is read there.
   */
  private async resubscribeChannels(channels: readonly string[]): Promise<void> {
    this.watchdog.forgetEchoes(channels);
    for (const channel of channels) {
      if (!this.channels.has(channel)) continue;
      try {
        await this.sub.ssubscribe(channel);
      } catch (err) {
        this.log.warn({ channel, err: (err as Error).message }, 'subscribe again failed; the watchdog tries again');
      }
    }
    const health = this.health();
    if (health.ready) for (const listener of this.healthListeners) listener(health);
  }

  /**
   * The watchdog does not hear `shard`: read the topology again and subscribe its
   * rooms again (they catch up once it is heard); on the second attempt (and
   * every RESTART_EVERY_MENDS after, for a shard that stays silent: a master
   * down with no replica), start its subscriber over (a new connection,
   * subscribed again by ioredis).
   */
  private async mend(shard: string, attempt: number): Promise<void> {
    await this.topology.refresh('the watchdog did not hear a shard');
    if (attempt === 2 || (attempt > 2 && attempt % RESTART_EVERY_MENDS === 0)) {
      restartSubscriber(this.sub, shard);
      return;
    }
    await this.resubscribeChannels(this.listened().filter((channel) => this.shards.shardOf(channel) === shard));
  }

  private parse(payload: string): BroadcastEvent | undefined {
    try {
      const event = validateServerFrame(JSON.parse(payload));
      if (!isBroadcastEvent(event) || !Number.isSafeInteger(event.seq)) throw new Error('not a sequenced broadcast event');
      return event;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, bytes: payload.length }, 'dropped malformed bus message');
      return undefined;
    }
  }

  private reportHealth(): void {
    const health = this.health();
    if (health.ready === this.lastHealth.ready && health.reason === this.lastHealth.reason) return;
    this.lastHealth = health;
    if (health.ready) {
      this.everReady = true;
      this.log.info('bus ready');
    } else if (!this.everReady) this.log.debug({ reason: health.reason }, 'bus starting');
    else if (!this.closing) this.log.warn({ reason: health.reason }, 'bus not ready');
    for (const listener of this.healthListeners) listener(health);
  }
}

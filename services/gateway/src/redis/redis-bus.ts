import type { Redis } from 'ioredis';
import {
  isBroadcastEvent,
  validateServerFrame,
  type BroadcastEvent,
  type EventDraft,
  type NodeId,
  type Position,
} from '@switchboard/protocol';
import {
  BusUnavailableError,
  type Bus,
  type BusEventHandler,
  type BusHealth,
  type HistoryLimits,
  type HistoryRefusal,
  type HistoryResult,
  type PublishResult,
  type ReplayBounds,
} from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { createRedis } from './connection.js';
import { RedisKeys } from './keys.js';
import { defineScripts, newEpoch, publishArgs, runScript, scriptBody, type ScriptName } from './scripts.js';

/** How Redis words a write refused past `maxmemory`. */
const OUT_OF_MEMORY = /\bOOM\b/;
/** How often a bus that found Redis full tries a small write to see whether it has room again, in ms. */
const MEMORY_PROBE_INTERVAL_MS = 1_000;

export interface RedisBusOptions extends HistoryLimits {
  readonly url: string;
  /** Prefix of the channel and keys (see keys.ts). */
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
  /** Most refs remembered per client for de-duplication (the oldest are forgotten first). */
  readonly refsPerClient: number;
  /** The clock that dates events (history trimming by age); Date.now by default. */
  readonly now?: () => number;
  /** Where reconnects are counted (none by default). */
  readonly metrics?: Metrics;
}

/**
 * The cluster bus over Redis: a Lua script gives each event its seq, stores it in
 * a bounded stream (the history) and publishes it, all at once. Two connections,
 * as Redis requires: one runs commands, the other only subscribes. Both reconnect
 * forever; the subscriber subscribes again on every reconnect, and health() is
 * ready only while both are up and subscribed. Nothing is queued while Redis is
 * away: publish() fails at once with BusUnavailableError.
 */
export class RedisBus implements Bus {
  private readonly keys: RedisKeys;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly log: Logger;
  private handler: BusEventHandler | undefined;
  private subscribed = false;
  /** Redis refused a write for want of memory, and no probe write has succeeded since. */
  private full = false;
  private closing = false;
  private lastHealth: BusHealth = { ready: false, reason: 'connecting to redis' };
  private readonly healthListeners: Array<(health: BusHealth) => void> = [];

  constructor(private readonly options: RedisBusOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.log = options.logger.child({ module: 'redis-bus' });
    this.pub = createRedis(options.url, `${options.nodeId}:pub`, this.log);
    this.sub = createRedis(options.url, `${options.nodeId}:sub`, this.log, { autoResubscribe: false });
    defineScripts(this.pub);
  }

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
    this.watch(this.pub, 'pub');
    this.watch(this.sub, 'sub');
    this.sub.on('ready', () => void this.subscribe());
    this.sub.on('message', (channel: string, payload: string) => this.onMessage(channel, payload));
    // connect() rejects on the first failure, but ioredis keeps retrying by itself.
    this.pub.connect().catch(() => undefined);
    this.sub.connect().catch(() => undefined);
  }

  async publish(draft: EventDraft): Promise<PublishResult> {
    const reply = (await this.run(
      'sbPublish',
      [...this.keys.stream, this.keys.refs(draft.id)],
      [...publishArgs(this.options, this.now()), scriptBody(draft), draft.ref ?? '', this.options.refsPerClient],
    )) as [number, string, number];
    return { seq: reply[0], epoch: reply[1], duplicate: reply[2] === 1 };
  }

  async history(since: Position, bounds: ReplayBounds = {}): Promise<HistoryResult> {
    const { maxEvents = Number.MAX_SAFE_INTEGER, maxBytes = Number.MAX_SAFE_INTEGER } = bounds;
    const args = [...publishArgs(this.options, this.now()), since.seq, since.epoch, maxEvents, maxBytes];
    return this.historyReply(await this.run('sbHistory', this.keys.stream, args));
  }

  async historyPage(since: Position, limit: number): Promise<HistoryResult> {
    return this.historyReply(await this.run('sbHistoryPage', this.keys.historyKeys, [since.seq, since.epoch, newEpoch(), limit]));
  }

  async head(): Promise<Position> {
    const [epoch, seq] = (await this.run('sbHead', this.keys.historyKeys, [newEpoch()])) as [string, number];
    return { epoch, seq };
  }

  async renewEpoch(stale: string): Promise<Position> {
    const [epoch, seq] = (await this.run('sbRenewEpoch', this.keys.historyKeys, [stale, newEpoch()])) as [string, number];
    return { epoch, seq };
  }

  async nextGuestNumber(): Promise<number> {
    try {
      return await this.pub.incr(this.keys.guestCounter);
    } catch (err) {
      throw new BusUnavailableError(`redis INCR failed: ${(err as Error).message}`);
    }
  }

  health(): BusHealth {
    if (this.closing) return { ready: false, reason: 'bus closed' };
    if (this.pub.status !== 'ready') return { ready: false, reason: `redis publisher ${this.pub.status}` };
    if (this.sub.status !== 'ready') return { ready: false, reason: `redis subscriber ${this.sub.status}` };
    if (!this.subscribed) return { ready: false, reason: 'redis subscription pending' };
    if (this.full) return { ready: false, reason: 'redis is out of memory (maxmemory reached): nothing can be sent' };
    return { ready: true };
  }

  onHealthChange(listener: (health: BusHealth) => void): void {
    this.healthListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.handler = undefined;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.channel);
      this.subscribed = true;
      this.log.info({ channel: this.keys.channel }, 'subscribed');
    } catch (err) {
      // The connection dropped again; the next 'ready' subscribes once more.
      this.log.warn({ err: (err as Error).message, channel: this.keys.channel }, 'subscribe failed');
    }
    this.reportHealth();
  }

  /**
   * Run a script on the command connection. A Redis past its `maxmemory` (with
   * `noeviction`, as it should be: evicting would silently lose history) refuses
   * writes: that is an outage like any other: the bus says not ready until a
   * probe write succeeds again.
   */
  private async run(name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await runScript(this.pub, name, keys, args);
    } catch (err) {
      if (OUT_OF_MEMORY.test((err as Error).message)) this.markFull();
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

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** {epoch, head, reason, events...} as the history scripts answer. */
  private historyReply(reply: unknown): HistoryResult {
    const [epoch, seq, reason, ...payloads] = reply as [string, number, HistoryRefusal | '', ...string[]];
    const head = { epoch, seq };
    if (reason !== '') return { ok: false, head, reason };
    const events: BroadcastEvent[] = [];
    for (const payload of payloads) {
      const event = this.parse(payload);
      if (event) events.push(event);
    }
    return { ok: true, head, events };
  }

  private watch(conn: Redis, role: 'pub' | 'sub'): void {
    conn.on('reconnecting', () => this.options.metrics?.redisReconnect());
    conn.on('ready', () => {
      this.log.info({ role }, 'redis connection ready');
      this.reportHealth();
    });
    conn.on('close', () => {
      if (role === 'sub') this.subscribed = false;
      this.reportHealth();
    });
  }

  private onMessage(channel: string, payload: string): void {
    if (channel !== this.keys.channel || !this.handler) return;
    const event = this.parse(payload);
    if (event) this.handler(event);
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
    if (health.ready) this.log.info('bus ready');
    else if (!this.closing) this.log.warn({ reason: health.reason }, 'bus not ready');
    for (const listener of this.healthListeners) listener(health);
  }
}

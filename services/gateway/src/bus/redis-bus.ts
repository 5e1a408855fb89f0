import { Redis, type RedisOptions } from 'ioredis';
import {
  isBroadcastEvent,
  validateServerFrame,
  type BroadcastEvent,
  type NodeId,
} from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import { BusUnavailableError, type Bus, type BusEventHandler, type BusHealth } from './bus.js';

export interface RedisBusOptions {
  readonly url: string;
  /** Prefix of the channel and keys: `<prefix>:events`, `<prefix>:guest-counter`. */
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
}

/** What crosses Redis: the event and the node that published it. */
interface Envelope {
  readonly origin: NodeId;
  readonly event: BroadcastEvent;
}

/** Longest pause between reconnect attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * The cluster bus over Redis pub/sub. Two connections, as Redis requires: one
 * publishes and runs commands, the other only subscribes. Both reconnect forever;
 * the subscriber subscribes again on every reconnect, and health() is ready only
 * while both are up and subscribed.
 *
 * Commands are never queued while Redis is away (enableOfflineQueue: false): a
 * publish then fails at once with BusUnavailableError and the hub tells the sender,
 * rather than holding an unbounded backlog.
 */
export class RedisBus implements Bus {
  private readonly channel: string;
  private readonly counterKey: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly log: Logger;
  private handler: BusEventHandler | undefined;
  private subscribed = false;
  private closing = false;
  private lastHealth: BusHealth = { ready: false, reason: 'connecting to redis' };
  private readonly healthListeners: Array<(health: BusHealth) => void> = [];

  constructor(private readonly options: RedisBusOptions) {
    this.channel = `${options.prefix}:events`;
    this.counterKey = `${options.prefix}:guest-counter`;
    this.log = options.logger.child({ module: 'redis-bus' });
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    };
    this.pub = new Redis(options.url, { ...common, connectionName: `${options.nodeId}:pub` });
    this.sub = new Redis(options.url, {
      ...common,
      connectionName: `${options.nodeId}:sub`,
      autoResubscribe: false,
    });
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

  async publish(event: BroadcastEvent): Promise<void> {
    const envelope: Envelope = { origin: this.options.nodeId, event };
    try {
      await this.pub.publish(this.channel, JSON.stringify(envelope));
    } catch (err) {
      throw new BusUnavailableError(`redis publish failed: ${(err as Error).message}`);
    }
  }

  async nextGuestNumber(): Promise<number> {
    try {
      return await this.pub.incr(this.counterKey);
    } catch (err) {
      throw new BusUnavailableError(`redis INCR failed: ${(err as Error).message}`);
    }
  }

  health(): BusHealth {
    if (this.closing) return { ready: false, reason: 'bus closed' };
    if (this.pub.status !== 'ready') return { ready: false, reason: `redis publisher ${this.pub.status}` };
    if (this.sub.status !== 'ready') return { ready: false, reason: `redis subscriber ${this.sub.status}` };
    if (!this.subscribed) return { ready: false, reason: 'redis subscription pending' };
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
      await this.sub.subscribe(this.channel);
      this.subscribed = true;
      this.log.info({ channel: this.channel }, 'subscribed');
    } catch (err) {
      // The connection dropped again; the next 'ready' subscribes once more.
      this.log.warn({ err, channel: this.channel }, 'subscribe failed');
    }
    this.reportHealth();
  }

  private watch(conn: Redis, role: 'pub' | 'sub'): void {
    conn.on('ready', () => {
      this.log.info({ role }, 'redis connection ready');
      this.reportHealth();
    });
    conn.on('close', () => {
      if (role === 'sub') this.subscribed = false;
      this.reportHealth();
    });
    conn.on('reconnecting', (delayMs: number) => this.log.debug({ role, delayMs }, 'redis reconnecting'));
    conn.on('error', (err: Error) => {
      if (!this.closing) this.log.warn({ role, err: err.message }, 'redis connection error');
    });
  }

  private onMessage(channel: string, payload: string): void {
    if (channel !== this.channel || !this.handler) return;
    let envelope: Envelope;
    try {
      const parsed = JSON.parse(payload) as { origin?: unknown; event?: unknown };
      const event = validateServerFrame(parsed.event);
      if (typeof parsed.origin !== 'string' || !isBroadcastEvent(event)) throw new Error('not a broadcast envelope');
      envelope = { origin: parsed.origin, event };
    } catch (err) {
      this.log.warn({ err: (err as Error).message, bytes: payload.length }, 'dropped malformed bus message');
      return;
    }
    this.handler(envelope.event, envelope.origin);
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

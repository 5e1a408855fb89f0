import { nanoid } from 'nanoid';
import {
  encodeServerFrame,
  type BroadcastEvent,
  type ClientId,
  type Epoch,
  type EventDraft,
  type Position,
  type RoomName,
  type Seq,
} from '@switchboard/protocol';
import {
  BusUnavailableError,
  type Bus,
  type BusEventHandler,
  type BusHealth,
  type BusLimits,
  type HistoryRefusal,
  type HistoryResult,
  type PublishResult,
  type RecentLines,
  type ReplayBounds,
} from './bus.js';
import { keepAliveIntervalMs, roomLifetimes, type RoomLifetimes } from './room-lifetimes.js';

/** Whose refs a room's `once` keys are kept as: no client's id is empty. */
const ONCE_OWNER = '';

interface Stored {
  readonly event: BroadcastEvent;
  readonly at: number;
  /** Its size encoded (UTF-8 JSON), for the history's byte bound. */
  readonly bytes: number;
}

/** One room's stream: its epoch, its last seq, its bounded history, its clients' refs and its recent chat lines. */
class RoomLog {
  epoch: Epoch = nanoid(12);
  seq = 0;
  /** The history: `entries[first..]` are kept, oldest first. */
  entries: Stored[] = [];
  first = 0;
  /** Bytes of the events kept. */
  bytes = 0;
  /** Earlier epochs whose history this one kept (renew), newest first: positions in them up to `agreed` read as the same seq of this one. */
  kept: Array<{ readonly epoch: Epoch; readonly agreed: Seq }> = [];
  /** Per client, its published refs (`<epoch>|<ref>`) and their seq, oldest first; at most refsPerClient each, as old as the history. */
  readonly refs = new Map<ClientId, { map: Map<string, Seq>; at: number }>();
  /** The last chat lines, oldest first (at most historyOnJoin). */
  recent: BroadcastEvent[] = [];
  /** Whether the epoch had a chat line: then the room is kept roomHistoryTtlMs once unused, else roomTtlMs. */
  chatted = false;
  /** When it was last used (read, published to, or left by this node), by `now`. */
  usedAt: number;

  constructor(
    private readonly limits: BusLimits,
    private readonly now: () => number,
  ) {
    this.usedAt = now();
  }

  get head(): Position {
    return { epoch: this.epoch, seq: this.seq };
  }

  publish(draft: EventDraft, once: string | undefined): { event?: BroadcastEvent; result: PublishResult } {
    // A `once` key is kept among the room's own keys, not the client's (ONCE_OWNER).
    const [owner, ref] = once === undefined ? [draft.id, draft.ref] : [ONCE_OWNER, once];
    const earlier = ref === undefined ? undefined : this.knownRef(owner, ref);
    if (earlier !== undefined) return { result: { epoch: this.epoch, seq: earlier, duplicate: true } };
    const event = { seq: ++this.seq, epoch: this.epoch, ...draft } as BroadcastEvent;
    this.store(event);
    if (ref !== undefined) this.remember(owner, `${this.epoch}|${ref}`, event.seq);
    if (event.type === 'message') {
      this.chatted = true;
      this.recent.push(event);
      if (this.recent.length > this.limits.historyOnJoin) this.recent.shift();
    }
    return { event, result: { epoch: this.epoch, seq: event.seq, duplicate: false } };
  }

  /** Up to `limit` stored events after `since`, or why not (more than `maxEvents` follow it: too far behind). */
  after(
    since: Position,
    limit: number,
    maxEvents: number,
  ): { ok: true; head: Position; since: Position; stored: readonly Stored[] } | { ok: false; head: Position; reason: HistoryRefusal } {
    this.trim();
    const head = this.head;
    const seq = since.epoch === this.epoch ? since.seq : this.keptPosition(since);
    if (seq === undefined) return { ok: false, head, reason: 'epoch changed' };
    const at = { epoch: this.epoch, seq };
    if (seq > this.seq) return { ok: false, head, reason: 'position is ahead of the history' };
    if (seq === this.seq) return { ok: true, head, since: at, stored: [] };
    if (this.seq - seq > maxEvents) return { ok: false, head, reason: 'too far behind' };
    const kept = this.entries.length - this.first;
    const oldest = this.seq - kept + 1;
    if (seq + 1 < oldest) return { ok: false, head, reason: 'history trimmed' };
    const from = this.first + (seq + 1 - oldest);
    return { ok: true, head, since: at, stored: this.entries.slice(from, from + limit) };
  }

  /**
   * A new epoch that keeps the history (the bus went back in time): its events are
   * relabelled and keep their seq; `stale` is listed among the kept epochs, agreeing up to `agreed`.
   */
  renew(agreed: Seq): void {
    const epoch = nanoid(12);
    const relabel = <E extends BroadcastEvent>(event: E): E => ({ ...event, epoch });
    this.entries = this.entries.slice(this.first).map((stored) => ({ ...stored, event: relabel(stored.event) }));
    this.first = 0;
    this.recent = this.recent.map(relabel);
    this.kept = [{ epoch: this.epoch, agreed: Math.max(0, Math.min(agreed, this.seq)) }, ...this.kept].slice(0, 4);
    this.epoch = epoch;
  }

  /** Where a position of an earlier kept epoch stands in this one, or undefined. */
  private keptPosition(since: Position): Seq | undefined {
    let seq = since.seq;
    for (const kept of this.kept) {
      seq = Math.min(seq, kept.agreed);
      if (kept.epoch === since.epoch) return seq;
    }
    return undefined;
  }

  /** The seq of a client's ref published in this epoch or a kept one, if remembered. */
  private knownRef(client: ClientId, ref: string): Seq | undefined {
    const refs = this.refsOf(client);
    if (!refs) return undefined;
    for (const epoch of [this.epoch, ...this.kept.map((k) => k.epoch)]) {
      const seq = refs.get(`${epoch}|${ref}`);
      if (seq !== undefined) return seq;
    }
    return undefined;
  }

  /** A client's refs, unless they expired with the history. */
  private refsOf(client: ClientId): Map<string, Seq> | undefined {
    const entry = this.refs.get(client);
    if (entry && entry.at < this.now() - this.limits.historyMaxAgeMs) {
      this.refs.delete(client);
      return undefined;
    }
    return entry?.map;
  }

  private remember(client: ClientId, ref: string, seq: Seq): void {
    const map = this.refsOf(client) ?? new Map<string, Seq>();
    map.set(ref, seq);
    if (map.size > this.limits.refsPerClient) map.delete(map.keys().next().value!);
    // Re-inserted, so the map of clients stays ordered by last use and the stalest can go first.
    this.refs.delete(client);
    this.refs.set(client, { map, at: this.now() });
    const cutoff = this.now() - this.limits.historyMaxAgeMs;
    for (const [stale, entry] of this.refs) {
      if (entry.at >= cutoff) break;
      this.refs.delete(stale);
    }
  }

  private store(event: BroadcastEvent): void {
    const bytes = Buffer.byteLength(encodeServerFrame(event));
    this.entries.push({ event, at: this.now(), bytes });
    this.bytes += bytes;
    this.trim();
    // Compact now and then so the array does not grow without bound.
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }

  /** Drop the oldest events while the history is over any of its bounds: events, age, bytes. */
  private trim(): void {
    const cutoff = this.now() - this.limits.historyMaxAgeMs;
    while (this.first < this.entries.length) {
      const oldest = this.entries[this.first]!;
      const count = this.entries.length - this.first;
      if (count <= this.limits.historyMaxEvents && this.bytes <= this.limits.historyMaxBytes && oldest.at >= cutoff) break;
      this.bytes -= oldest.bytes;
      this.first++;
    }
  }
}

/**
 * The bus of a single node, with the same contract as RedisBus: per-room
 * sequenced events, bounded histories, ref de-duplication, recent chat lines;
 * events of rooms not subscribed to are not delivered. Delivery is asynchronous
 * (a microtask), as it is over Redis, so callers cannot come to rely on a
 * synchronous echo.
 *
 * A room nobody uses (not subscribed to, nothing published or read) is
 * forgotten once one of its lifetimes (room-lifetimes.ts) has passed, as Redis
 * lets its keys expire: a sweep every keepAliveIntervalMs() looks at each room
 * kept, never at each event. A room that comes back starts a new epoch.
 */
export class MemoryBus implements Bus {
  private handler: BusEventHandler | undefined;
  private guests = 0;
  private closed = false;
  private readonly rooms = new Map<RoomName, RoomLog>();
  private readonly subscribed = new Set<RoomName>();
  private readonly lifetimes: RoomLifetimes;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: BusLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.lifetimes = roomLifetimes(limits);
  }

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
    clearInterval(this.sweepTimer);
    this.sweepTimer = setInterval(() => this.sweep(), keepAliveIntervalMs(this.lifetimes));
    this.sweepTimer.unref();
  }

  subscribe(room: RoomName): Promise<void> {
    if (this.closed) return Promise.reject(new BusUnavailableError('memory bus is closed'));
    this.subscribed.add(room);
    return Promise.resolve();
  }

  unsubscribe(room: RoomName): Promise<void> {
    this.subscribed.delete(room);
    // Its last use: the room's lifetime counts from now.
    const log = this.rooms.get(room);
    if (log) log.usedAt = this.now();
    return Promise.resolve();
  }

  /** Whether the bus still keeps anything of `room` (asking is not a use): for tests and diagnostics. */
  keeps(room: RoomName): boolean {
    return this.rooms.has(room);
  }

  subscriptions(): ReadonlySet<RoomName> {
    return this.subscribed;
  }

  publish(draft: EventDraft, once?: string): Promise<PublishResult> {
    const handler = this.handler;
    if (this.closed || !handler) return Promise.reject(new BusUnavailableError('memory bus is closed'));
    const { event, result } = this.log(draft.room).publish(draft, once);
    if (event && this.subscribed.has(event.room)) queueMicrotask(() => handler(event));
    return Promise.resolve(result);
  }

  history(room: RoomName, since: Position, { maxEvents = Infinity, maxBytes = Infinity }: ReplayBounds = {}): Promise<HistoryResult> {
    const after = this.log(room).after(since, Infinity, maxEvents);
    if (!after.ok) return Promise.resolve(after);
    let bytes = 0;
    for (const stored of after.stored) {
      bytes += stored.bytes;
      if (bytes > maxBytes) return Promise.resolve({ ok: false, head: after.head, reason: 'too far behind' });
    }
    return Promise.resolve({ ok: true, head: after.head, since: after.since, events: after.stored.map((s) => s.event) });
  }

  historyPage(room: RoomName, since: Position, limit: number): Promise<HistoryResult> {
    const after = this.log(room).after(since, limit, Infinity);
    return Promise.resolve(after.ok ? { ok: true, head: after.head, since: after.since, events: after.stored.map((s) => s.event) } : after);
  }

  head(room: RoomName): Promise<Position> {
    return Promise.resolve(this.log(room).head);
  }

  recent(room: RoomName, count: number): Promise<RecentLines> {
    const log = this.log(room);
    return Promise.resolve({ head: log.head, lines: count > 0 ? log.recent.slice(-count) : [] });
  }

  renewEpoch(room: RoomName, stale: Epoch, agreed: Seq = Number.MAX_SAFE_INTEGER): Promise<Position> {
    const log = this.log(room);
    if (stale === log.epoch) log.renew(agreed);
    return Promise.resolve(log.head);
  }

  nextGuestNumber(): Promise<number> {
    return Promise.resolve(++this.guests);
  }

  health(): BusHealth {
    return this.closed ? { ready: false, reason: 'bus closed' } : { ready: true };
  }

  onHealthChange(): void {
    // Always ready until closed: nothing to report.
  }

  close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    clearInterval(this.sweepTimer);
    return Promise.resolve();
  }

  /** A room's log, made if it has none (a new epoch), marked as used now. */
  private log(room: RoomName): RoomLog {
    let log = this.rooms.get(room);
    if (!log) {
      log = new RoomLog(this.limits, this.now);
      this.rooms.set(room, log);
    } else log.usedAt = this.now();
    return log;
  }

  /** Forget every room not subscribed to whose lifetime has passed since its last use. */
  private sweep(): void {
    const now = this.now();
    const { roomTtlMs, roomHistoryTtlMs } = this.lifetimes;
    for (const [room, log] of this.rooms) {
      if (this.subscribed.has(room)) continue;
      if (now - log.usedAt >= (log.chatted ? roomHistoryTtlMs : roomTtlMs)) this.rooms.delete(room);
    }
  }
}

import { nanoid } from 'nanoid';
import {
  encodeServerFrame,
  type BroadcastEvent,
  type ClientId,
  type Epoch,
  type EventDraft,
  type Position,
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
  type ReplayBounds,
} from './bus.js';

interface Stored {
  readonly event: BroadcastEvent;
  readonly at: number;
  /** Its size encoded (UTF-8 JSON), for the history's byte bound. */
  readonly bytes: number;
}

/**
 * The bus of a single node, with the same contract as RedisBus: sequenced events,
 * a bounded history, ref de-duplication. Delivery is asynchronous (a microtask),
 * as it is over Redis, so callers cannot come to rely on a synchronous echo.
 */
export class MemoryBus implements Bus {
  private handler: BusEventHandler | undefined;
  private guests = 0;
  private closed = false;
  private epoch: Epoch = nanoid(12);
  private seq = 0;
  /** Bytes of the events kept. */
  private bytes = 0;
  /** The history: `entries[head..]` are kept, oldest first. */
  private entries: Stored[] = [];
  private first = 0;
  /** Per client, its published refs and their seq, oldest first; at most refsPerClient each, as old as the history. */
  private readonly refs = new Map<ClientId, { map: Map<string, Seq>; at: number }>();

  constructor(
    private readonly limits: BusLimits,
    private readonly now: () => number = Date.now,
  ) {}

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
  }

  publish(draft: EventDraft): Promise<PublishResult> {
    const handler = this.handler;
    if (this.closed || !handler) return Promise.reject(new BusUnavailableError('memory bus is closed'));
    const earlier = draft.ref === undefined ? undefined : this.refsOf(draft.id)?.get(draft.ref);
    if (earlier !== undefined) return Promise.resolve({ epoch: this.epoch, seq: earlier, duplicate: true });

    const event = { seq: ++this.seq, epoch: this.epoch, ...draft } as BroadcastEvent;
    this.store(event);
    if (draft.ref !== undefined) this.remember(draft.id, draft.ref, event.seq);
    queueMicrotask(() => handler(event));
    return Promise.resolve({ epoch: this.epoch, seq: event.seq, duplicate: false });
  }

  history(since: Position, { maxEvents = Infinity, maxBytes = Infinity }: ReplayBounds = {}): Promise<HistoryResult> {
    const after = this.after(since, Infinity, maxEvents);
    if (!after.ok) return Promise.resolve(after);
    let bytes = 0;
    for (const stored of after.stored) {
      bytes += stored.bytes;
      if (bytes > maxBytes) return Promise.resolve({ ok: false, head: after.head, reason: 'too far behind' });
    }
    return Promise.resolve({ ok: true, head: after.head, events: after.stored.map((s) => s.event) });
  }

  historyPage(since: Position, limit: number): Promise<HistoryResult> {
    const after = this.after(since, limit, Infinity);
    return Promise.resolve(after.ok ? { ok: true, head: after.head, events: after.stored.map((s) => s.event) } : after);
  }

  head(): Promise<Position> {
    return Promise.resolve({ epoch: this.epoch, seq: this.seq });
  }

  renewEpoch(stale: Epoch): Promise<Position> {
    if (stale === this.epoch) {
      this.epoch = nanoid(12);
      this.seq = 0;
      this.entries = [];
      this.first = 0;
      this.bytes = 0;
    }
    return this.head();
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
    return Promise.resolve();
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
    this.forgetStaleRefs();
  }

  /** Drop the refs of clients that have published nothing for as long as the history lasts. */
  private forgetStaleRefs(): void {
    const cutoff = this.now() - this.limits.historyMaxAgeMs;
    for (const [client, entry] of this.refs) {
      if (entry.at >= cutoff) break;
      this.refs.delete(client);
    }
  }

  /** Up to `limit` stored events after `since`, or why not (more than `maxEvents` follow it: too far behind). */
  private after(
    since: Position,
    limit: number,
    maxEvents: number,
  ): { ok: true; head: Position; stored: readonly Stored[] } | { ok: false; head: Position; reason: HistoryRefusal } {
    this.trim();
    const head = { epoch: this.epoch, seq: this.seq };
    const kept = this.entries.length - this.first;
    const oldest = this.seq - kept + 1;
    if (since.epoch !== this.epoch) return { ok: false, head, reason: 'epoch changed' };
    if (since.seq > this.seq) return { ok: false, head, reason: 'position is ahead of the history' };
    if (since.seq === this.seq) return { ok: true, head, stored: [] };
    if (this.seq - since.seq > maxEvents) return { ok: false, head, reason: 'too far behind' };
    if (since.seq + 1 < oldest) return { ok: false, head, reason: 'history trimmed' };
    const from = this.first + (since.seq + 1 - oldest);
    return { ok: true, head, stored: this.entries.slice(from, from + limit) };
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

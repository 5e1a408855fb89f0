import { nanoid } from 'nanoid';
import type { BroadcastEvent, Epoch, EventDraft } from '@switchboard/protocol';
import {
  BusUnavailableError,
  type Bus,
  type BusEventHandler,
  type BusHealth,
  type HistoryLimits,
  type HistoryResult,
  type Position,
  type PublishResult,
} from './bus.js';

interface Stored {
  readonly event: BroadcastEvent;
  readonly at: number;
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
  /** The history: `entries[head..]` are kept, oldest first. */
  private entries: Stored[] = [];
  private first = 0;
  /** `${clientId}\n${ref}` -> where it landed; bounded like the history. */
  private readonly refs = new Map<string, PublishResult>();

  constructor(
    private readonly limits: HistoryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
  }

  publish(draft: EventDraft): Promise<PublishResult> {
    const handler = this.handler;
    if (this.closed || !handler) return Promise.reject(new BusUnavailableError('memory bus is closed'));
    const refKey = draft.ref === undefined ? undefined : `${draft.id}\n${draft.ref}`;
    const earlier = refKey === undefined ? undefined : this.refs.get(refKey);
    if (earlier) return Promise.resolve({ ...earlier, duplicate: true });

    const event = { seq: ++this.seq, epoch: this.epoch, ...draft } as BroadcastEvent;
    this.store(event);
    const result: PublishResult = { epoch: this.epoch, seq: event.seq, duplicate: false };
    if (refKey !== undefined) {
      this.refs.set(refKey, result);
      if (this.refs.size > this.limits.historyMaxEvents) this.refs.delete(this.refs.keys().next().value!);
    }
    queueMicrotask(() => handler(event));
    return Promise.resolve(result);
  }

  history(since: Position, maxEvents = Infinity): Promise<HistoryResult> {
    this.trimByAge();
    const head = { epoch: this.epoch, seq: this.seq };
    const kept = this.entries.length - this.first;
    const oldest = this.seq - kept + 1;
    if (since.epoch !== this.epoch) return Promise.resolve({ ok: false, head, reason: 'epoch changed' });
    if (since.seq > this.seq) return Promise.resolve({ ok: false, head, reason: 'position is ahead of the history' });
    if (since.seq + 1 < oldest) return Promise.resolve({ ok: false, head, reason: 'history trimmed' });
    if (this.seq - since.seq > maxEvents) return Promise.resolve({ ok: false, head, reason: 'too far behind' });
    const events = this.entries.slice(this.first + (since.seq + 1 - oldest)).map((s) => s.event);
    return Promise.resolve({ ok: true, head, events });
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
      this.refs.clear();
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

  private store(event: BroadcastEvent): void {
    this.entries.push({ event, at: this.now() });
    if (this.entries.length - this.first > this.limits.historyMaxEvents) this.first++;
    this.trimByAge();
    // Compact now and then so the array does not grow without bound.
    if (this.first > 1024 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }

  private trimByAge(): void {
    const cutoff = this.now() - this.limits.historyMaxAgeMs;
    while (this.first < this.entries.length && this.entries[this.first]!.at < cutoff) this.first++;
  }
}

import type { BroadcastEvent, Epoch, EventDraft, Position } from '@switchboard/protocol';

/** Where a published event landed. `duplicate`: its `ref` was already published by the same client; nothing was sent. */
export interface PublishResult extends Position {
  readonly duplicate: boolean;
}

/**
 * Why history() cannot give every event after a position: the epoch is not the
 * current one; the position is past the head (the history went back in time);
 * events after it were trimmed; or more than the asked-for maximum follow it.
 */
export type HistoryRefusal = 'epoch changed' | 'position is ahead of the history' | 'history trimmed' | 'too far behind';

/** Events after a position, or why they cannot all be had. `head` is the newest position. */
export type HistoryResult =
  | { readonly ok: true; readonly head: Position; readonly events: readonly BroadcastEvent[] }
  | { readonly ok: false; readonly head: Position; readonly reason: HistoryRefusal };

/** Whether the bus can carry events now, and if not, why (for /readyz and logs). */
export interface BusHealth {
  readonly ready: boolean;
  readonly reason?: string;
}

/** Called for every event on the bus, including this node's own, in arrival order. */
export type BusEventHandler = (event: BroadcastEvent) => void;

/**
 * The broadcast channel between gateway nodes, with a bounded history.
 *
 * publish() gives each event its place atomically with storing it: `seq` rises by
 * exactly 1 per event across the cluster within an `epoch`, and a new epoch starts
 * whenever the history is lost. Events arrive at every node in `seq` order, but a
 * node can miss some (a dropped subscription): history() fills such gaps.
 *
 * Implementations: MemoryBus (one node) and RedisBus (a cluster). The hub never
 * knows which one it has.
 */
export interface Bus {
  /** Connect, subscribe and deliver every event to `onEvent` from now on. Returns at once; see health(). */
  start(onEvent: BusEventHandler): void;
  /**
   * Give the event its place, store it and send it to every node. A draft with a
   * `ref` already published by the same client (`id`) is not sent again.
   * Rejects with BusUnavailableError when nothing could be sent.
   */
  publish(draft: EventDraft): Promise<PublishResult>;
  /**
   * Every event after `since`, when `since` is in the current epoch and nothing
   * after it was trimmed, and there are no more than `bounds` allow (events, and
   * bytes of encoded events).
   */
  history(since: Position, bounds?: ReplayBounds): Promise<HistoryResult>;
  /**
   * The first `limit` events after `since` (fewer at the head), for catching up
   * a page at a time. Refused as history() is, but never as 'too far behind'.
   */
  historyPage(since: Position, limit: number): Promise<HistoryResult>;
  /** The newest position (creating the epoch if there is none yet). */
  head(): Promise<Position>;
  /**
   * Start a new epoch if `stale` is still the current one: the history went back in
   * time (lost writes), so its numbers cannot be trusted. Returns the new head.
   */
  renewEpoch(stale: Epoch): Promise<Position>;
  /** The next number for a default nickname, unique across the cluster (1, 2, ...). */
  nextGuestNumber(): Promise<number>;
  health(): BusHealth;
  /** Register a listener for health changes (ready <-> not ready). */
  onHealthChange(listener: (health: BusHealth) => void): void;
  /** Stop delivering and release connections. */
  close(): Promise<void>;
}

/** The bus could not take an event or a request: nothing was sent. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}

/** History bounds: whichever is reached first trims the oldest events. */
export interface HistoryLimits {
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  /** Bytes of encoded events (UTF-8 JSON). */
  readonly historyMaxBytes: number;
}

/** How much one history() may return: more than either, and it is refused as 'too far behind'. */
export interface ReplayBounds {
  readonly maxEvents?: number;
  readonly maxBytes?: number;
}

/** Everything a bus keeps is bounded: the history, and the refs of each client (as long as the history, at most this many). */
export interface BusLimits extends HistoryLimits {
  readonly refsPerClient: number;
}

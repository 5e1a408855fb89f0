import type { BroadcastEvent, Epoch, EventDraft, Position, RoomName, Seq } from '@switchboard/protocol';
import type { RoomLifetimes } from './room-lifetimes.js';

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

/**
 * Events after a position, or why they cannot all be had. `head` is the newest
 * position; `since` is where the events start: the position asked, or, for one
 * in an earlier epoch whose history the current one kept (renewEpoch), its
 * place in the current epoch (no later than the last seq known to agree).
 */
export type HistoryResult =
  | { readonly ok: true; readonly head: Position; readonly since: Position; readonly events: readonly BroadcastEvent[] }
  | { readonly ok: false; readonly head: Position; readonly reason: HistoryRefusal };

/** Whether the bus can carry events now, and if not, why (for /readyz and logs). */
export interface BusHealth {
  readonly ready: boolean;
  readonly reason?: string;
  /** The Redis shards (their masters, `host:port`) whose delivery the bus's watchdog does not hear now; absent when all are heard. */
  readonly unheardShards?: readonly string[];
}

/**
 * Whether a node with this health takes new clients: when ready, and also while
 * only some Redis shard is not heard (every node hears the same; the rooms of
 * the other shards serve, the silent shard's lines are refused meanwhile).
 */
export function takesClients(health: BusHealth): boolean {
  return health.ready || health.unheardShards !== undefined;
}

/**
 * Reading that can wait. While paused, what arrives stays in the kernel's socket
 * buffers and wakes nobody; once resumed, it is read on that same turn of the
 * event loop. A node that is busy writing pauses its bus between two flushes
 * (FlushScheduler): a burst of events then costs one wake-up per flush, not one
 * per event, and each event still goes out with the next flush, as it would have.
 */
export interface PausableReads {
  pause(): void;
  resume(): void;
}

/** Called for every event of every room this node subscribes to, including this node's own, in arrival order. */
export type BusEventHandler = (event: BroadcastEvent) => void;

/** A room's newest position, and its last chat lines (oldest first), read together. */
export interface RecentLines {
  readonly head: Position;
  readonly lines: readonly BroadcastEvent[];
}

/**
 * The broadcast channel between gateway nodes: one ordered stream per room,
 * each with a bounded history.
 *
 * publish() gives each event its place in its room atomically with storing it:
 * `seq` rises by exactly 1 per event of a room across the cluster within an
 * `epoch`, and a new epoch starts whenever the room's history is lost, or
 * forgotten: a room nobody has used for its lifetime (room-lifetimes.ts) is
 * forgotten whole, and a node keeps the rooms it subscribes to in use; or when it
 * went back in time (renewEpoch), keeping what survived. A node
 * gets the events of the rooms it subscribes to (those where it has members),
 * and nothing of the others. Events arrive in `seq` order, but a node can miss
 * some (a dropped subscription): history() fills such gaps.
 *
 * Implementations: MemoryBus (one node) and RedisBus (a cluster, on one Redis or
 * a Redis Cluster). The hub never knows which one it has.
 */
export interface Bus {
  /** Connect and deliver the events of subscribed rooms to `onEvent` from now on. Returns at once; see health(). */
  start(onEvent: BusEventHandler): void;
  /**
   * Start receiving `room`'s events. Resolves once they flow (every event
   * published after that reaches `onEvent`); rejects with BusUnavailableError.
   * Subscriptions outlive reconnects.
   */
  subscribe(room: RoomName): Promise<void>;
  /** Stop receiving `room`'s events. */
  unsubscribe(room: RoomName): Promise<void>;
  /** The rooms subscribed to now. */
  subscriptions(): ReadonlySet<RoomName>;
  /**
   * Give the event its place in its room (`draft.room`), store it and send it to
   * every node subscribed to that room. A draft with a `ref` already published by
   * the same client (`id`) in that room, whose event the room's history still
   * holds (its epoch, or an earlier one it kept), is not stored again: the result
   * says `duplicate` with the original's place (the original may be sent again:
   * nodes drop what they already passed on); nor is one whose `once` key was
   * already published in that room (the registry's notices, which may be
   * published by more than one node, carry one; it is never broadcast).
   * Rejects with BusUnavailableError when it cannot be acknowledged: not stored,
   * or (RedisBus) not on enough replicas to survive a failover, then not sent.
   */
  publish(draft: EventDraft, once?: string): Promise<PublishResult>;
  /**
   * Every event of `room` after `since`, when `since` is in the room's current
   * epoch and nothing after it was trimmed, and there are no more than `bounds`
   * allow (events, and bytes of encoded events).
   */
  history(room: RoomName, since: Position, bounds?: ReplayBounds): Promise<HistoryResult>;
  /**
   * The first `limit` events of `room` after `since` (fewer at the head), for
   * catching up a page at a time. Refused as history() is, but never as 'too far behind'.
   * `heard`: the newest seq of this epoch the caller heard live. A published event
   * was made visible (released) first, so the history up to it may be read even where
   * the mark of it did not survive (a replica promoted before that write reached it).
   */
  historyPage(room: RoomName, since: Position, limit: number, heard?: Seq): Promise<HistoryResult>;
  /** The room's newest position (creating its epoch if there is none yet). */
  head(room: RoomName): Promise<Position>;
  /** The room's newest position and its last `count` chat lines (`message` events), oldest first. */
  recent(room: RoomName, count: number): Promise<RecentLines>;
  /**
   * Start a new epoch of `room` if `stale` is still its current one: the history
   * went back in time (lost writes), so its numbers cannot be trusted. What the
   * history holds is kept: its events are relabelled with the new epoch and keep
   * their seq; refs of events it holds are still known; a position in `stale` up
   * to `agreed` (the last seq known to be the same event before and after; the
   * head by default) is read as the same seq of the new epoch (history(), historyPage()).
   * Returns the new head.
   */
  renewEpoch(room: RoomName, stale: Epoch, agreed?: Seq): Promise<Position>;
  /** The next number for a default nickname, unique across the cluster (1, 2, ...). */
  nextGuestNumber(): Promise<number>;
  health(): BusHealth;
  /** Register a listener for health changes (ready <-> not ready). */
  onHealthChange(listener: (health: BusHealth) => void): void;
  /** Stop delivering and release connections. */
  close(): Promise<void>;
  /** The bus's connections, for pausing their reading between flushes; absent when it has none (MemoryBus). */
  readonly reads?: PausableReads;
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

/**
 * Everything a bus keeps is bounded: each room's history, the refs of each
 * client in a room (as long as the history, at most this many), the recent
 * chat lines kept for newcomers, and how long a room nobody uses is kept at all
 * (its lifetimes: unset, derived as roomLifetimes() says).
 */
export interface BusLimits extends HistoryLimits, Partial<RoomLifetimes> {
  readonly refsPerClient: number;
  /** Chat lines kept per room for history on join (HISTORY_ON_JOIN). */
  readonly historyOnJoin: number;
}

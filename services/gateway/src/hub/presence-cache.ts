import type { RoomInfo, RoomName } from '@switchboard/protocol';
import type { Members, SessionRegistry } from '../sessions/session-registry.js';

/** What the cache reads from: the registry's presence. */
export type PresenceSource = Pick<SessionRegistry, 'members' | 'rooms'>;

export interface PresenceCacheOptions {
  /** How long an answer is served again after it was read, in ms (0: only while it is being read). */
  readonly ttlMs: number;
  /** Members read per room (the `/who` list's length). */
  readonly maxMembers: number;
  /** Rooms read for `/rooms`. */
  readonly maxRooms: number;
  /** The clock, in ms (a test's own; performance.now() by default). */
  readonly now?: () => number;
}

/** One answer, read or being read, and until when it is served (Infinity while being read). */
interface Entry<T> {
  readonly answer: Promise<T>;
  until: number;
}

/** The key of the `/rooms` answer beside the rooms' own (no room is named this: room names have no `#`). */
const ROOMS_KEY = '#rooms';

/**
 * This node's short-lived copy of the cluster's presence: `/who` (a room's
 * members) and `/rooms` answered from one read of the registry per room (and
 * one of the room list) per `ttlMs`, however many members of this node ask.
 * Questions asked while a read is under way share it. A failed read is not
 * kept: the next question reads again.
 *
 * An answer is at most `ttlMs` old, but never older than a change this node
 * made: changed() (called when this node moves someone into or out of a room)
 * drops the room's answer and the room list, and a read that was under way
 * then is not kept either, so a member sees its own join in its next `/who`.
 * Changes made on other nodes show within `ttlMs`.
 *
 * Entries go when they expire (an unref'ed timer per read): the cache holds
 * at most the rooms asked about in the last `ttlMs`.
 */
export class PresenceCache {
  private readonly entries = new Map<string, Entry<Members | readonly RoomInfo[]>>();
  private readonly now: () => number;

  constructor(
    private readonly source: PresenceSource,
    private readonly options: PresenceCacheOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Who is in `room` (at most maxMembers of them, and how many). */
  members(room: RoomName): Promise<Members> {
    return this.get<Members>(room, () => this.source.members(room, this.options.maxMembers));
  }

  /** The rooms with people in them, the fullest first (at most maxRooms). */
  rooms(): Promise<readonly RoomInfo[]> {
    return this.get<readonly RoomInfo[]>(ROOMS_KEY, () => this.source.rooms(this.options.maxRooms));
  }

  /** This node changed who is in `room`: its answer and the room list are read afresh. */
  changed(room: RoomName): void {
    this.entries.delete(room);
    this.entries.delete(ROOMS_KEY);
  }

  /** Answers held (for tests and the curious). */
  get size(): number {
    return this.entries.size;
  }

  private get<T extends Members | readonly RoomInfo[]>(key: string, read: () => Promise<T>): Promise<T> {
    const held = this.entries.get(key);
    if (held !== undefined && held.until > this.now()) return held.answer as Promise<T>;
    const entry: Entry<T> = { answer: read(), until: Infinity };
    this.entries.set(key, entry);
    entry.answer.then(
      () => {
        // Dropped meanwhile (changed()): not kept, as it may predate the change.
        if (this.entries.get(key) !== entry) return;
        entry.until = this.now() + this.options.ttlMs;
        if (this.options.ttlMs <= 0) {
          this.entries.delete(key);
          return;
        }
        setTimeout(() => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
        }, this.options.ttlMs).unref();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.answer;
  }
}

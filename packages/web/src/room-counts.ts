import type { RoomInfo, RoomName, RoomsFrame } from '@switchboard/protocol';

/** The least time between two questions for the rooms that the page asks by itself, in ms. */
export const ROOMS_REFRESH_MIN_MS = 10_000;
/** While the page is visible, how often it asks for the rooms even when its own room is quiet, in ms. */
export const ROOMS_REFRESH_EVERY_MS = 60_000;

/**
 * The rooms the page lists and how many are in each: the latest `rooms` answer,
 * except for the room the page is in, whose count is the people list's (kept live
 * by the room's notices), so that the two never disagree. The other rooms'
 * counts are as answered: the page hears no notices of rooms it is not in, and
 * asks again when someone comes from or goes to one (a `joined` or `left` in its
 * room, a summary), and now and then, at most every ROOMS_REFRESH_MIN_MS.
 */
export class RoomCounts {
  private answered: readonly RoomInfo[] = [];

  /** A `rooms` answer. */
  answer(frame: RoomsFrame): void {
    this.answered = frame.rooms;
  }

  /**
   * The rooms to list, the fullest first: as answered, with `current` counted
   * `count` (the people list's, when it has been answered), and listed even if
   * the answer, older, did not have it.
   */
  list(current: RoomName | undefined, count: number | undefined): RoomInfo[] {
    const rooms = this.answered.map((info) => (info.room === current && count !== undefined ? { room: info.room, count } : info));
    if (current !== undefined && count !== undefined && !rooms.some((info) => info.room === current)) rooms.push({ room: current, count });
    // Stable: rooms of one count stay in the order the server gave.
    return rooms.sort((a, b) => b.count - a.count);
  }
}

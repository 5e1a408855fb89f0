import { RESUME_GRACE_MS } from '@switchboard/protocol';

/**
 * How long a room nobody uses is kept, by both buses (RedisBus: its keys' TTLs;
 * MemoryBus: its sweep). A room is in use while a node serves it (it has members
 * there): the node renews it every keepAliveIntervalMs(). Once unused, a room is
 * forgotten after one of two lifetimes, counted from its last use: then it comes
 * back, if ever, in a new epoch at seq 0, as after a lost history.
 */
export interface RoomLifetimes {
  /**
   * A room that had no chat line in its epoch (made by joins, heads, notices,
   * refused joins), in ms. Longer than RESUME_GRACE_MS: a session that may resume
   * into the room (the registry keeps its membership that long) finds it as it left it.
   */
  readonly roomTtlMs: number;
  /**
   * A room that had chat lines in its epoch, in ms: its history and its last
   * lines for newcomers (HISTORY_ON_JOIN) are kept that long. At least roomTtlMs.
   */
  readonly roomHistoryTtlMs: number;
}

/**
 * What ROOM_TTL_MS adds to RESUME_GRACE_MS by default, in ms: a resume at the end
 * of its grace, late by a slow network, still finds its room, even if the node's
 * last renewal of it (when its member dropped) was lost and the one before is
 * what counts. Short, because join churn costs Redis about this long per room.
 */
export const ROOM_TTL_MARGIN_MS = 15_000;

/** Keep-alives a serving node runs per roomTtlMs: a room in use outlives a few missed renewals (a Redis blip). */
export const KEEPALIVES_PER_TTL = 4;

/** The settings the lifetimes follow from: the two TTLs when given, else derived from the grace and the history's age. */
export interface RoomLifetimeSettings {
  readonly resumeGraceMs?: number;
  readonly historyMaxAgeMs: number;
  readonly roomTtlMs?: number;
  readonly roomHistoryTtlMs?: number;
}

/**
 * The lifetimes: roomTtlMs as given, else RESUME_GRACE_MS + ROOM_TTL_MARGIN_MS;
 * roomHistoryTtlMs as given, else the longer of HISTORY_MAX_AGE_MS (after which
 * every event of the history is trimmed anyway) and roomTtlMs.
 */
export function roomLifetimes(settings: RoomLifetimeSettings): RoomLifetimes {
  const roomTtlMs = settings.roomTtlMs ?? (settings.resumeGraceMs ?? RESUME_GRACE_MS) + ROOM_TTL_MARGIN_MS;
  const roomHistoryTtlMs = settings.roomHistoryTtlMs ?? Math.max(settings.historyMaxAgeMs, roomTtlMs);
  return { roomTtlMs, roomHistoryTtlMs };
}

/** How often a node renews the rooms it serves, in ms: KEEPALIVES_PER_TTL times per roomTtlMs. */
export function keepAliveIntervalMs(lifetimes: RoomLifetimes): number {
  return Math.max(1, Math.floor(lifetimes.roomTtlMs / KEEPALIVES_PER_TTL));
}

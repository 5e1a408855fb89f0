import { DEFAULT_ROOM, parseRoomName, type RoomName } from '@switchboard/protocol';

/**
 * The rooms a token lets its user join (its `rooms` claim): exact names
 * (`lobby`), or prefixes ending in `*` (`team-*` is every room whose name
 * starts with `team-`). A token without the claim may join every room
 * (everyone, below).
 */
export class RoomPermissions {
  private readonly names: ReadonlySet<RoomName>;
  private readonly prefixes: readonly string[];

  private constructor(private readonly entries: readonly string[] | undefined) {
    this.names = new Set((entries ?? []).filter((entry) => !entry.endsWith('*')));
    this.prefixes = (entries ?? []).filter((entry) => entry.endsWith('*')).map((entry) => entry.slice(0, -1));
  }

  /** Every room (a token without a `rooms` claim, or identity off). */
  static readonly everyone = new RoomPermissions(undefined);

  /**
   * The permissions of a `rooms` claim, or undefined when it is not a list of
   * room names and prefixes (each entry lower-cased; a leading `#` dropped).
   */
  static fromClaim(claim: unknown): RoomPermissions | undefined {
    if (claim === undefined) return RoomPermissions.everyone;
    if (!Array.isArray(claim)) return undefined;
    const entries: string[] = [];
    for (const entry of claim) {
      if (typeof entry !== 'string') return undefined;
      const wildcard = entry.endsWith('*');
      const stem = wildcard ? entry.slice(0, -1) : entry;
      if (wildcard && stem === '') {
        entries.push('*');
        continue;
      }
      const parsed = parseRoomName(stem);
      if (!parsed.ok) return undefined;
      entries.push(wildcard ? `${parsed.room}*` : parsed.room);
    }
    return new RoomPermissions(entries);
  }

  /** Whether every room is allowed. */
  get all(): boolean {
    return this.entries === undefined;
  }

  allows(room: RoomName): boolean {
    if (this.entries === undefined || this.names.has(room)) return true;
    return this.prefixes.some((prefix) => room.startsWith(prefix));
  }

  /** Where a new session starts: the lobby if allowed, else the first exact room named, else none (refused). */
  firstRoom(): RoomName | undefined {
    if (this.allows(DEFAULT_ROOM)) return DEFAULT_ROOM;
    return this.entries?.find((entry) => !entry.endsWith('*'));
  }
}

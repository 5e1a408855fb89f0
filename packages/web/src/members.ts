import type { ClientId, MemberInfo, MembersFrame, NickUpdateFrame, Nickname, NotificationFrame, RoomName } from '@switchboard/protocol';

/** A live change to the members of a room: a presence notice or a rename. */
export type PresenceChange = NotificationFrame | NickUpdateFrame;

/**
 * Who is in the room the page shows: the latest `who` answer, kept live by the
 * room's notices (joined, connected: in; left, disconnected: out) and renames.
 * A `summary` notice (a room too big for a notice per person) moves the count
 * by its `joined` and `left` at once, and says the list should be asked for again.
 *
 * A `who` answer is a snapshot taken somewhere between the question and the
 * answer, while notices keep coming over another path: the notices received
 * since the question are played again over the answer, so that the last word
 * on each person is the newest.
 */
export class MemberList {
  private current: RoomName | undefined;
  private readonly members = new Map<ClientId, Nickname>();
  /**
   * How many more are in the room than listed: those the latest answer counted
   * but did not list (a room over MAX_MEMBERS_LISTED), moved by summaries since
   * (below 0 when some of those listed are gone, not knowing whom).
   */
  private extra = 0;
  /** Whether the list was answered for this room at all. */
  private known = false;
  /** Questions not answered yet, and the notices received since the oldest of them. */
  private pending = 0;
  private sinceAsked: PresenceChange[] = [];

  get room(): RoomName | undefined {
    return this.current;
  }

  /** Whether a `who` answer for this room has come (until then the list is what notices said). */
  get answered(): boolean {
    return this.known;
  }

  /** Everyone listed, by name (case-insensitive), then id. */
  get list(): MemberInfo[] {
    return [...this.members]
      .map(([id, nickname]) => ({ id, nickname }))
      .sort((a, b) => a.nickname.localeCompare(b.nickname, undefined, { sensitivity: 'base' }) || (a.id < b.id ? -1 : 1));
  }

  /** How many are in the room: those listed and those the answer counted but did not list, with the summaries since. */
  get count(): number {
    return Math.max(0, this.members.size + this.extra);
  }

  /** The page is in `room` now: a room it was not showing starts empty, to be asked for. */
  enter(room: RoomName): void {
    if (room === this.current) return;
    this.current = room;
    this.members.clear();
    this.extra = 0;
    this.known = false;
    this.pending = 0;
    this.sinceAsked = [];
  }

  /** A `who` was sent: keep the notices from now on, to play them over its answer. */
  asking(): void {
    this.pending += 1;
  }

  /** A `who` sent will not be answered (refused, or the client closed). */
  abandoned(): void {
    this.settle();
  }

  /** A `who` answer: the list, then the notices received since it was asked. False when it is not this room's. */
  answer(frame: MembersFrame): boolean {
    if (frame.room !== this.current) return false;
    const replay = this.sinceAsked;
    this.settle();
    this.members.clear();
    for (const member of frame.members) this.members.set(member.id, member.nickname);
    this.extra = Math.max(0, frame.count - this.members.size);
    this.known = true;
    for (const change of replay) this.apply(change);
    return true;
  }

  /**
   * A notice or rename of the room: whether the list changed, or `ask` when it
   * cannot follow by itself (a summary: the count moves, not knowing who came
   * or went) and should be asked for again.
   */
  change(event: PresenceChange): 'changed' | 'unchanged' | 'ask' {
    if (event.room !== this.current) return 'unchanged';
    if (event.type === 'notification' && event.event === 'summary') {
      // Not played over the answer asked for: that answer is newer than what it moved.
      this.extra += (event.joined ?? 0) - (event.left ?? 0);
      return 'ask';
    }
    if (this.pending > 0) this.sinceAsked.push(event);
    return this.apply(event) ? 'changed' : 'unchanged';
  }

  private apply(event: PresenceChange): boolean {
    if (event.type === 'nick_update') {
      if (this.members.get(event.id) === event.nickname) return false;
      this.members.set(event.id, event.nickname);
      return true;
    }
    switch (event.event) {
      case 'connected':
      case 'joined':
        if (this.members.get(event.id) === event.nickname) return false;
        this.members.set(event.id, event.nickname);
        return true;
      case 'disconnected':
      case 'left':
        return this.members.delete(event.id);
      default:
        return false;
    }
  }

  private settle(): void {
    this.pending = Math.max(0, this.pending - 1);
    if (this.pending === 0) this.sinceAsked = [];
  }
}

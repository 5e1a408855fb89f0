import type { BroadcastEvent, Position, RoomName } from '@switchboard/protocol';
import type { Bus, HistoryResult, RecentLines, ReplayBounds } from '../bus/bus.js';

/**
 * When a member started waiting for its room's events: where this node stood in
 * the room then (the last event its sequencer had passed on), and the tick of
 * JoinReads' clock at that moment. Taken right after the member entered the
 * room's fan-out (LocalFanout.enter), before any await: from then on, every event
 * the node passes on reaches the member's backlog.
 */
export interface Arrival {
  readonly floor: Position | undefined;
  readonly tick: number;
}

/** One read on its way to the bus, and when it was sent (JoinReads' clock). */
interface InFlight<T> {
  readonly tick: number;
  readonly result: Promise<T>;
}

/** A resume's read on its way: the position it asked from and its bounds, besides the read itself. */
interface HistoryInFlight extends InFlight<HistoryResult> {
  readonly since: Position;
  readonly bounds: ReplayBounds;
}

/**
 * The reads of the bus that start a member's stream in a room (its recent lines
 * after a welcome or a join; the events a resume missed), shared by the members
 * that start in the same room on this node at the same time: in a reconnect
 * storm, a thousand clients rejoining their rooms cost one read per room at a
 * time instead of one each, and the lines read are one set of objects, so the
 * frames made of them are encoded once (LocalFanout).
 *
 * A read sent after a member arrived (see Arrival) answers it as its own would.
 * One already on its way when it arrived may predate events the node passed on
 * before the member was there to get them, so it is taken only if its head is
 * in the epoch the node stood in and not behind where the node stood (`floor`):
 * then every event after the head was passed on after the member arrived, and
 * reaches it live; the events up to the head are in what was read. Otherwise
 * (and when that read failed) the member waits for the next read, sent once
 * the one on its way is back and shared by everyone waiting for it: a room has
 * at most one read of each kind on its way, plus the one its waiters share next.
 *
 * A resume takes an answer to its own position, or the events after its
 * position in an answer from an earlier position of the same epoch (what the
 * bus would have answered it: fewer events, so within the same bounds).
 */
export class JoinReads {
  private clock = 0;
  private readonly recents = new Map<string, InFlight<RecentLines>>();
  private readonly histories = new Map<RoomName, HistoryInFlight[]>();

  constructor(private readonly bus: Bus) {}

  /** A member arrives in `room`, where this node stands at `floor` (RoomStreams.position). */
  arrive(floor: Position | undefined): Arrival {
    return { floor, tick: this.clock };
  }

  /** The room's head and its last `count` chat lines (Bus.recent), as of a moment after `arrival`. */
  async recent(room: RoomName, count: number, arrival: Arrival): Promise<RecentLines> {
    const key = `${count}\n${room}`;
    const current = this.recents.get(key);
    if (current) {
      if (current.tick > arrival.tick) return current.result;
      const earlier = await current.result.catch(() => undefined);
      if (earlier && covers(earlier.head, arrival.floor)) return earlier;
    }
    return this.next(this.recents, key, arrival, () => this.bus.recent(room, count));
  }

  /**
   * Every event of `room` after `since` (Bus.history with `bounds`), as of a
   * moment after `arrival`. Rejects as Bus.history does.
   */
  async history(room: RoomName, since: Position, bounds: ReplayBounds, arrival: Arrival): Promise<HistoryResult> {
    for (const read of this.historiesOf(room)) {
      if (!startsWithin(read.since, since) || !sameBounds(read.bounds, bounds)) continue;
      // Sent after the member arrived, for its very position: its own read would be no different.
      if (read.tick > arrival.tick && samePosition(read.since, since)) return read.result;
      const taken = suffix(await read.result.catch(() => undefined), read.since, since);
      if (taken && (read.tick > arrival.tick || (taken.ok && covers(taken.head, arrival.floor)))) return taken;
    }
    return this.nextHistory(room, since, bounds, arrival);
  }

  /** The next read of `key`: one sent after `arrival` if there is one, else sent now. */
  private next<T>(reads: Map<string, InFlight<T>>, key: string, arrival: Arrival, read: () => Promise<T>): Promise<T> {
    const current = reads.get(key);
    if (current && current.tick > arrival.tick) return current.result;
    const sent: InFlight<T> = { tick: ++this.clock, result: read() };
    reads.set(key, sent);
    const done = () => {
      if (reads.get(key) === sent) reads.delete(key);
    };
    sent.result.then(done, done);
    return sent.result;
  }

  /** A resume's own read, shared with those that ask the same position after it. */
  private nextHistory(room: RoomName, since: Position, bounds: ReplayBounds, arrival: Arrival): Promise<HistoryResult> {
    const same = this.historiesOf(room).find(
      (read) => read.tick > arrival.tick && samePosition(read.since, since) && sameBounds(read.bounds, bounds),
    );
    if (same) return same.result;
    const sent: HistoryInFlight = { tick: ++this.clock, since, bounds, result: this.bus.history(room, since, bounds) };
    const reads = this.histories.get(room) ?? [];
    reads.push(sent);
    this.histories.set(room, reads);
    const done = () => {
      const left = (this.histories.get(room) ?? []).filter((read) => read !== sent);
      if (left.length > 0) this.histories.set(room, left);
      else this.histories.delete(room);
    };
    sent.result.then(done, done);
    return sent.result;
  }

  private historiesOf(room: RoomName): readonly HistoryInFlight[] {
    return this.histories.get(room) ?? [];
  }
}

/** A head no earlier than where the node stood (in its epoch): every event after it comes live. */
function covers(head: Position, floor: Position | undefined): boolean {
  return floor !== undefined && head.epoch === floor.epoch && head.seq >= floor.seq;
}

function samePosition(a: Position, b: Position): boolean {
  return a.epoch === b.epoch && a.seq === b.seq;
}

function sameBounds(a: ReplayBounds, b: ReplayBounds): boolean {
  return a.maxEvents === b.maxEvents && a.maxBytes === b.maxBytes;
}

/** Whether a read from `read` may answer one from `since`: the same position, or an earlier one of the same epoch. */
function startsWithin(read: Position, since: Position): boolean {
  return read.epoch === since.epoch && read.seq <= since.seq;
}

/**
 * What the bus would answer from `since`, given its answer from `asked` (no later
 * in the same epoch): the same answer for the same position; for a later one, the
 * events after it, if the answer was given from `asked` itself (not from its
 * place in a newer epoch) and reaches `since`. Undefined when it cannot be told.
 */
function suffix(result: HistoryResult | undefined, asked: Position, since: Position): HistoryResult | undefined {
  if (!result) return undefined;
  if (samePosition(asked, since)) return result;
  if (!result.ok || !samePosition(result.since, asked) || result.head.epoch !== since.epoch || result.head.seq < since.seq)
    return undefined;
  const events: BroadcastEvent[] = [];
  for (const event of result.events) if (event.seq > since.seq) events.push(event);
  return { ok: true, head: result.head, since, events };
}

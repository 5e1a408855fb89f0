import { advance, encodeServerFrame, type BroadcastEvent, type Position, type RoomName } from '@switchboard/protocol';
import type { Metrics } from '../metrics/metrics.js';
import type { Member } from './member.js';
import { Outgoing } from './peer.js';

/**
 * Local delivery: every event that comes back from the bus (in order, through
 * its room's Sequencer) goes to every local member in that room, encoded once
 * per node and the same bytes handed to every peer. Each member gets an event at
 * most once, by the protocol's one ordering rule; a member still catching up
 * (admitting or arriving: its welcome or join, its history or replay not yet
 * out) keeps live events in its backlog until then.
 *
 * What members catching up get besides (their backlogs, a replay or history
 * read once for many of them: JoinReads) is encoded once per event object too,
 * the frame kept as long as the event is (a WeakMap): a storm of joins to one
 * room costs one encoding of each line, not one per member.
 */
export class LocalFanout {
  private readonly rooms = new Map<RoomName, Set<Member>>();
  /** Frames of events handed to more than one member apart from deliver(): backlogs, replays. */
  private readonly frames = new WeakMap<BroadcastEvent, Outgoing>();
  /** Frames of lines sent as history (`history: true`). */
  private readonly historyFrames = new WeakMap<BroadcastEvent, Outgoing>();

  constructor(private readonly metrics: Metrics) {}

  /**
   * The member gets `room`'s events from now on, kept in its backlog until
   * startAt (Member.enter). False when it left meanwhile: it gets nothing.
   */
  enter(member: Member, room: RoomName): boolean {
    this.leave(member);
    if (!member.enter(room)) return false;
    let members = this.rooms.get(room);
    if (!members) {
      members = new Set();
      this.rooms.set(room, members);
    }
    members.add(member);
    return true;
  }

  /** The member gets no more events. */
  leave(member: Member): void {
    if (member.room === undefined) return;
    const members = this.rooms.get(member.room);
    members?.delete(member);
    if (members?.size === 0) this.rooms.delete(member.room);
  }

  /** Fan one event out to every local member of its room. */
  deliver(event: BroadcastEvent): void {
    const members = this.rooms.get(event.room);
    if (!members) return;
    const out = new Outgoing(encodeServerFrame(event));
    this.metrics.busToSocketLatency((Date.now() - event.time) / 1000);
    let sent = 0;
    for (const member of members) if (this.forward(member, event, out)) sent++;
    this.metrics.delivered(sent, sent * out.payload.length);
  }

  /**
   * Start a member's stream at `start` (what its welcome or join said; undefined:
   * from the next event): the room's recent lines marked as history, then the
   * replay, then whatever arrived live meanwhile, each at most once; live events
   * flow from now on (Member.caughtUp).
   */
  startAt(member: Member, start: Position | undefined, replay: readonly BroadcastEvent[], history: readonly BroadcastEvent[] = []): void {
    member.position = start;
    const backlog = member.caughtUp();
    for (const line of history) member.peer.send(this.historyFrameOf(line));
    for (const event of replay) this.forward(member, event);
    for (const event of backlog) this.forward(member, event);
  }

  /**
   * Send an event to one member unless it already has it; keep it in the
   * member's backlog while it catches up. True when it was sent with `out` (the caller counts those).
   */
  private forward(member: Member, event: BroadcastEvent, out?: Outgoing): boolean {
    if (event.room !== member.room) return false;
    const backlog = member.backlog;
    if (backlog) {
      backlog.push(event);
      // Its frame, for when the backlog goes out.
      if (out) this.frames.set(event, out);
      return false;
    }
    if (advance(member.position, event).kind === 'duplicate') return false;
    // The event is its own position (epoch, seq): no object per delivery.
    member.position = event;
    if (out) {
      member.peer.send(out);
      return true;
    }
    const own = this.frameOf(event);
    member.peer.send(own);
    this.metrics.delivered(1, own.payload.length);
    return false;
  }

  /** The event's frame, encoded once. */
  private frameOf(event: BroadcastEvent): Outgoing {
    return encodedOnce(this.frames, event, false);
  }

  /** The line's frame as history (`history: true`), encoded once. */
  private historyFrameOf(line: BroadcastEvent): Outgoing {
    return encodedOnce(this.historyFrames, line, true);
  }
}

/** `frames`' frame for `event` (as a history line when `history`), encoded and kept there the first time it is asked for. */
function encodedOnce(frames: WeakMap<BroadcastEvent, Outgoing>, event: BroadcastEvent, history: boolean): Outgoing {
  let out = frames.get(event);
  if (!out) {
    out = new Outgoing(encodeServerFrame(history ? ({ ...event, history: true } as BroadcastEvent) : event));
    frames.set(event, out);
  }
  return out;
}

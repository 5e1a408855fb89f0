import type { BroadcastEvent, ClientCommand, ParseResult, Position, RoomName, SessionToken } from '@switchboard/protocol';
import type { Peer } from './peer.js';
import { WorkInFlight } from './work-in-flight.js';

/**
 * Where a member is in its life, each state with the one queue it needs. What
 * becomes of what the member sends, and of its room's live events:
 *
 * | state     | what it sends                              | its room's live events               |
 * |-----------|--------------------------------------------|--------------------------------------|
 * | admitting | frames wait in `early`                     | wait in `backlog`                    |
 * | welcomed  | frames wait in `early`                     | reach it                             |
 * | live      | handled at once                            | reach it                             |
 * | busy      | commands wait in `queued`                  | reach it                             |
 * | arriving  | commands wait in `queued`                  | the new room's wait in `backlog`     |
 * | leaving   | nothing more; those sent before wait       | none                                 |
 * | left      | nothing                                    | none                                 |
 *
 * ```
 *  admitting ─caughtUp─▶ welcomed ─admit─▶ live ─startCommand─▶ busy ─enter─▶ arriving
 *                                           ▲                    │  ▲            │
 *                                           └─────endCommand─────┘  └──caughtUp──┘
 *  leave:  live → left;  busy, arriving → leaving ─endCommand─▶ left ─startCommand─▶ leaving
 *          admitting, welcomed → left (admission let it go, or failed)
 * ```
 *
 * A rename is busy until the registry and the bus have answered; a join is busy
 * while the registry moves it, arriving from the moment it enters the new room
 * until its `joined` answer and that room's recent lines are out, then busy
 * until its last step is done. A close while admitting or welcomed is noted
 * (`closedWith`): admission lets a member that was not welcomed go quietly;
 * one that was welcomed leaves after the frames it sent.
 */
export type Lifecycle =
  /** Its session being found or made, its room subscribed, its welcome prepared. */
  | {
      readonly state: 'admitting';
      readonly early: ParseResult[];
      readonly backlog: BroadcastEvent[];
      readonly closedWith: number | undefined;
    }
  /** Welcomed and caught up; its connect notice is being published, before anything it sent. */
  | { readonly state: 'welcomed'; readonly early: ParseResult[]; readonly closedWith: number | undefined }
  | { readonly state: 'live' }
  /** A rename or a join is under way: the commands after it wait their turn. */
  | { readonly state: 'busy'; readonly queued: ClientCommand[] }
  /** A join is in its new room: commands still wait; so do that room's events, until the join's answer and history are out. */
  | { readonly state: 'arriving'; readonly queued: ClientCommand[]; readonly backlog: BroadcastEvent[] }
  /** Its connection closed while a command was under way: the commands it sent before still run, in order. */
  | { readonly state: 'leaving'; readonly queued: ClientCommand[] }
  /** Gone from the hub: it gets nothing more. */
  | { readonly state: 'left' };

export type LifecycleState = Lifecycle['state'];

/** A member's session, once admission has found or made it. */
export interface MemberSession {
  readonly token: SessionToken;
  /** Where the session began in the event order. */
  readonly start: Position;
}

const LIVE: Lifecycle = { state: 'live' };
const LEFT: Lifecycle = { state: 'left' };

/**
 * A local peer, from the moment it connects, with its session and where it
 * stands in the event order. Its lifecycle (above) changes only through the
 * transitions below; one asked for in a state that cannot have it throws.
 */
export class Member {
  /** Its session, once admission has found or made it. */
  session: MemberSession | undefined = undefined;
  /** The last event of its room forwarded to it: set by its welcome or join, then moved on by LocalFanout. */
  position: Position | undefined = undefined;
  /** Its publishes and commands under way: its leave waits until none is left (OrderedPublisher.afterPublishes). */
  readonly inFlight = new WorkInFlight();
  private now: Lifecycle = { state: 'admitting', early: [], backlog: [], closedWith: undefined };
  private joined: RoomName | undefined = undefined;

  constructor(readonly peer: Peer) {}

  get lifecycle(): Lifecycle {
    return this.now;
  }

  /** The room whose events it gets (and where it speaks), once it entered one. */
  get room(): RoomName | undefined {
    return this.joined;
  }

  /** Where live events of its room wait while it catches up; undefined when they reach it (or it gets none). */
  get backlog(): BroadcastEvent[] | undefined {
    const now = this.now;
    return now.state === 'admitting' || now.state === 'arriving' ? now.backlog : undefined;
  }

  /** Whether it is welcomed, announced and still here (its session is its own to keep alive). */
  get admitted(): boolean {
    const { state } = this.now;
    return state === 'live' || state === 'busy' || state === 'arriving';
  }

  /** Whether it is still connected here (admitting included): false once it is leaving or left. */
  get present(): boolean {
    const { state } = this.now;
    return state !== 'leaving' && state !== 'left';
  }

  /** The close code, when its connection closed while it was being admitted. */
  get closedWith(): number | undefined {
    const now = this.now;
    return now.state === 'admitting' || now.state === 'welcomed' ? now.closedWith : undefined;
  }

  /** A frame that came while it is admitting or welcomed waits in `early` (true); otherwise it is the caller's to handle. */
  keepEarly(parsed: ParseResult): boolean {
    const now = this.now;
    if (now.state !== 'admitting' && now.state !== 'welcomed') return false;
    now.early.push(parsed);
    return true;
  }

  /**
   * Its connection closed while it is admitting or welcomed: noted (the first
   * code), true; admission or the hub lets it go when it gets there. False in
   * any other state: the caller lets it go now.
   */
  noteClose(code: number): boolean {
    const now = this.now;
    if (now.state !== 'admitting' && now.state !== 'welcomed') return false;
    if (now.closedWith === undefined) this.now = { ...now, closedWith: code };
    return true;
  }

  /**
   * It enters `room`, where it speaks and whose events it gets from now on:
   * while admitting, its first room; while busy, a join's new room (arriving).
   * Once it is leaving, what it sent before it closed is still said there, but
   * it gets nothing: false.
   */
  enter(room: RoomName): boolean {
    const now = this.now;
    switch (now.state) {
      case 'admitting':
        this.joined = room;
        return true;
      case 'busy':
        this.now = { state: 'arriving', queued: now.queued, backlog: [] };
        this.joined = room;
        return true;
      case 'leaving':
        this.joined = room;
        return false;
      default:
        return this.refuse('enter a room');
    }
  }

  /**
   * Its welcome or `joined` answer and what comes before live events are out:
   * live events reach it from now on (admitting → welcomed, arriving → busy).
   * Returns the events that waited, to send now (none for a member that left).
   */
  caughtUp(): readonly BroadcastEvent[] {
    const now = this.now;
    switch (now.state) {
      case 'admitting':
        this.now = { state: 'welcomed', early: now.early, closedWith: now.closedWith };
        return now.backlog;
      case 'arriving':
        this.now = { state: 'busy', queued: now.queued };
        return now.backlog;
      case 'leaving':
      case 'left':
        return [];
      default:
        return this.refuse('catch up');
    }
  }

  /** Its connect notice is out: it is live; returns the frames it sent meanwhile and, if it closed, the close code. */
  admit(): { early: readonly ParseResult[]; closedWith: number | undefined } {
    const now = this.now;
    if (now.state !== 'welcomed') return this.refuse('be admitted');
    this.now = LIVE;
    return { early: now.early, closedWith: now.closedWith };
  }

  /** While a rename or a join is under way (busy, arriving, leaving), a command waits its turn (true). */
  queue(command: ClientCommand): boolean {
    const now = this.now;
    if (now.state !== 'busy' && now.state !== 'arriving' && now.state !== 'leaving') return false;
    now.queued.push(command);
    return true;
  }

  /** A rename or a join begins: the commands after it wait (live → busy; left → leaving, for one sent before it closed). */
  startCommand(): void {
    const now = this.now;
    if (now.state === 'live') this.now = { state: 'busy', queued: [] };
    else if (now.state === 'left') this.now = { state: 'leaving', queued: [] };
    else this.refuse('start a command');
  }

  /** The rename or join is done (busy → live, leaving → left): returns the commands that waited, to handle in order. */
  endCommand(): readonly ClientCommand[] {
    const now = this.now;
    if (now.state === 'busy') this.now = LIVE;
    else if (now.state === 'leaving') this.now = LEFT;
    else return this.refuse('end a command');
    return now.queued;
  }

  /** Gone from the hub: it gets nothing more; a command under way and those waiting behind it still run (leaving). */
  leave(): void {
    const now = this.now;
    if (now.state === 'busy' || now.state === 'arriving') this.now = { state: 'leaving', queued: now.queued };
    else if (now.state !== 'leaving') this.now = LEFT;
  }

  private refuse(transition: string): never {
    throw new Error(`member ${this.peer.conn} cannot ${transition} while ${this.now.state}`);
  }
}

import {
  CloseCode,
  MAX_MEMBERS_LISTED,
  MAX_ROOMS_LISTED,
  errorFrame,
  type HelloFrame,
  type ParseResult,
  type ProtocolErrorInfo,
} from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { NodeLink } from '../cluster/node-link.js';
import type { Logger } from '../logger.js';
import { noMetrics, type Metrics } from '../metrics/metrics.js';
import type { SessionInfo, SessionRegistry } from '../sessions/session-registry.js';
import { Admission, type AdmissionOptions } from './admission.js';
import { CommandHandler } from './commands.js';
import { LocalFanout } from './fanout.js';
import { Member } from './member.js';
import { sendFrame, type Peer } from './peer.js';
import { PresenceCache } from './presence-cache.js';
import { OrderedPublisher } from './publisher.js';
import { RoomStreams } from './room-streams.js';
import type { HeldSessionRef, SessionHolds } from './session-holds.js';

export interface HubOptions extends AdmissionOptions {
  /** How long this node answers `/who` and `/rooms` from one read of the registry, in ms (PRESENCE_CACHE_MS; 0 by default). */
  readonly presenceCacheMs?: number;
}

/**
 * The chat hub of one node, a small facade over its parts: Admission (sessions,
 * welcome, replay or history), CommandHandler (what clients ask for becomes
 * events, moves and answers), OrderedPublisher (per-member ordered publishing to
 * the bus), RoomStreams (the rooms this node serves: their subscriptions and
 * Sequencers, each room's events in one contiguous order) and LocalFanout (each
 * event to every local peer in its room, encoded once). It knows the Bus and
 * SessionRegistry interfaces only, never Redis. `/who` and `/rooms` are
 * answered from the node's PresenceCache.
 *
 * Local delivery happens only from the bus, the sender's own echo included, so
 * all clients in a room, on all nodes, see one order.
 */
export class Hub {
  private readonly members = new Map<string, Member>();
  private readonly streams: RoomStreams;
  private readonly fanout: LocalFanout;
  private readonly publisher: OrderedPublisher;
  private readonly admission: Admission;
  private readonly commands: CommandHandler;
  private readonly presence: PresenceCache;
  private readonly metrics: Metrics;

  constructor(
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly link: NodeLink,
    options: HubOptions,
    logger: Logger,
  ) {
    this.metrics = options.metrics ?? noMetrics;
    this.fanout = new LocalFanout(this.metrics);
    this.streams = new RoomStreams(bus, (event) => this.fanout.deliver(event), logger, this.metrics);
    // Where the bus placed a member's line: the room's sequencer checks it was not numbered anew below its position (a rewind).
    this.publisher = new OrderedPublisher(bus, this.metrics, (draft, position) => this.streams.placed(draft, position));
    this.admission = new Admission(bus, sessions, this.streams, this.fanout, this.publisher, link, options);
    this.presence = new PresenceCache(sessions, {
      ttlMs: options.presenceCacheMs ?? 0,
      maxMembers: MAX_MEMBERS_LISTED,
      maxRooms: MAX_ROOMS_LISTED,
    });
    this.commands = new CommandHandler(this.publisher, sessions, this.streams, this.fanout, this.admission, this.presence, this.metrics);
  }

  /** Start receiving events from the bus and keeping sessions. */
  start(): void {
    this.bus.start((event) => this.streams.onEvent(event));
    this.bus.onHealthChange((health) => {
      if (health.ready) this.streams.resync();
    });
    this.sessions.start(() => this.liveSessions());
    this.sessions.onResumedElsewhere((token) => this.admission.holds.released(token));
    this.link.start(
      (conn) => this.closeResumedElsewhere(conn),
      (user) => this.disconnectUser(user),
    );
  }

  /** Count the sessions that drop here, while they wait for a resume, with `holds` (the socket server's gate). */
  countHolds(holds: SessionHolds): void {
    this.admission.holds = holds;
  }

  /**
   * End a session that waits for a resume since its connection dropped here, as
   * if its grace had run out: its address needs the room (see SessionHolds).
   * Nothing if it was resumed meanwhile. Rejects when the cluster cannot be reached.
   */
  endHeld(session: HeldSessionRef): Promise<void> {
    return this.sessions.expire(session.token, session.conn);
  }

  /** Number of local peers. */
  get size(): number {
    return this.members.size;
  }

  /** Admit a peer (see Admission.admit). Rejects when the cluster cannot be reached; the caller closes the connection. */
  async admit(peer: Peer, hello?: HelloFrame): Promise<void> {
    const member = new Member(peer);
    this.members.set(peer.conn, member);
    try {
      if (!(await this.admission.admit(member, hello))) {
        this.forget(member);
        return;
      }
    } catch (err) {
      this.forget(member);
      throw err;
    }
    // A new session is in its room now: its own `/who` (maybe among its early frames) lists it.
    this.presence.changed(member.room!);
    // Live: what it sent while being admitted, in order; then, if it closed meanwhile, its leave after all of it.
    const { early, closedWith } = member.admit();
    // Identity on: a resumed session in a room its token no longer allows leaves it first.
    this.commands.enforceRooms(member);
    for (const parsed of early) this.handle(member, parsed);
    if (closedWith !== undefined) this.leave(peer, closedWith);
  }

  /**
   * A peer's connection closed with `code`. A v2 session that did not end with
   * 1000 may be resumed within the grace period; any other ends now, and the
   * cluster hears `NICK has disconnected` (from the registry, exactly once),
   * after everything the peer itself published.
   */
  leave(peer: Peer, code: number): void {
    const member = this.members.get(peer.conn);
    if (!member) return;
    // While it is being admitted, admission (or admit() above) lets it go when it gets there.
    if (member.noteClose(code)) return;
    this.members.delete(peer.conn);
    peer.log.debug({ id: peer.id, nickname: peer.nickname, code, peers: this.members.size }, 'left');
    this.letGo(member);
    this.admission.release(member, code, true);
  }

  /** Handle one parsed frame from a peer (kept, in order, until it is admitted). */
  receive(peer: Peer, parsed: ParseResult): void {
    const member = this.members.get(peer.conn);
    if (!member) return;
    if (!member.keepEarly(parsed)) this.handle(member, parsed);
  }

  private handle(member: Member, parsed: ParseResult): void {
    const { peer } = member;
    if (!parsed.ok) {
      peer.log.info({ code: parsed.error.code }, 'refused client input');
      this.refuse(peer, parsed.error, parsed.ref);
      return;
    }
    this.commands.handle(member, parsed.command);
  }

  /** Tell a peer no. Nothing is broadcast. */
  refuse(peer: Peer, error: ProtocolErrorInfo, ref?: string): void {
    this.metrics.frameRefused(error.code);
    sendFrame(peer, errorFrame(peer, error, ref));
  }

  /** Wait until every publish and session update that was started has finished (for shutdown). */
  drain(): Promise<void> {
    return this.publisher.drain();
  }

  /**
   * Another connection resumed this one's session: close it (it must not speak
   * for the session any more). One still being admitted is let go by admission,
   * as when its connection closes (the registry ignores a session update from a
   * connection that no longer holds the session).
   */
  private closeResumedElsewhere(conn: string): boolean {
    const member = this.members.get(conn);
    if (!member) return false;
    // Gone from the hub at once (once admitted): it gets no more events and can send nothing more as this session.
    if (!member.noteClose(CloseCode.SESSION_RESUMED_ELSEWHERE)) {
      this.members.delete(conn);
      this.letGo(member);
    }
    member.peer.log.info({ reason: 'SESSION_RESUMED_ELSEWHERE' }, 'closing connection: its session was resumed by another');
    member.peer.close(CloseCode.SESSION_RESUMED_ELSEWHERE, 'session resumed elsewhere');
    return true;
  }

  /**
   * The application's backend asked for every connection of `user` to be closed
   * (`POST /api/disconnect`, on any node): close this node's with 4011
   * DISCONNECTED_BY_SERVER. Returns how many there were.
   */
  disconnectUser(user: string): number {
    let closed = 0;
    for (const member of [...this.members.values()]) {
      if (member.peer.user?.sub !== user) continue;
      member.peer.log.info({ reason: 'DISCONNECTED_BY_SERVER' }, 'closing connection: the backend disconnected its user');
      member.peer.close(CloseCode.DISCONNECTED_BY_SERVER, 'disconnected by the server');
      closed++;
    }
    return closed;
  }

  /** The member gets nothing more, and no longer keeps its room subscribed here. */
  private letGo(member: Member): void {
    this.fanout.leave(member);
    if (member.room !== undefined) this.streams.release(member.room);
    member.leave();
  }

  /** A member that admission let go, or could not admit (admission gave its room back): gone. */
  private forget(member: Member): void {
    this.members.delete(member.peer.conn);
    member.leave();
  }

  private *liveSessions(): Iterable<SessionInfo> {
    for (const member of this.members.values()) {
      const session = this.admission.sessionOf(member);
      if (session) yield session;
    }
  }
}

import { nanoid } from 'nanoid';
import {
  CloseCode,
  DEFAULT_NICKNAME_PREFIX,
  DEFAULT_ROOM,
  welcomeText,
  type BroadcastEvent,
  type ClientLimits,
  type HelloFrame,
  type Identity,
  type NodeId,
  type Position,
  type RoomName,
} from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { NodeLink } from '../cluster/node-link.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Detached, Notice, Resumed, SessionInfo, SessionRegistry } from '../sessions/session-registry.js';
import type { LocalFanout } from './fanout.js';
import type { Member } from './member.js';
import { sendFrame, type Peer } from './peer.js';
import { JoinReads, type Arrival } from './join-reads.js';
import type { OrderedPublisher } from './publisher.js';
import type { RoomStreams } from './room-streams.js';
import { noSessionHolds, type SessionHolds } from './session-holds.js';

export interface AdmissionOptions {
  readonly nodeId: NodeId;
  /** How long a v2 session survives a drop, in ms. */
  readonly resumeGraceMs: number;
  /** Most events replayed on one resume. */
  readonly resumeMaxEvents: number;
  /** Most bytes of events replayed on one resume. */
  readonly resumeMaxBytes: number;
  /** Chat lines of the room sent (as history) after a welcome or a join. */
  readonly historyOnJoin: number;
  /** What this node enforces on clients, told to each in `welcome`. */
  readonly clientLimits: ClientLimits;
  /** Where resumes and replays are counted (none by default). */
  readonly metrics?: Metrics;
}

/** Close codes after which a v2 session ends at once instead of waiting for a resume. */
const ENDS_SESSION: ReadonlySet<number> = new Set([CloseCode.NORMAL, CloseCode.DISCONNECTED_BY_SERVER, CloseCode.TOKEN_INVALID]);

/** Length of a session token (nanoid characters): a secret, never derived from the client id. */
const SESSION_TOKEN_LENGTH = 32;
/** Default names tried when the next `AnonymousUser<N>` is taken (someone chose it). */
const GUEST_NAME_TRIES = 5;

/** Where a member's events start, what comes before them, and whether it is a resume. */
interface Start {
  readonly position: Position;
  readonly replay: readonly BroadcastEvent[];
  readonly history: readonly BroadcastEvent[];
  readonly resumed: boolean;
}

/**
 * A member's session from its first frame to its leave: resume it or start a
 * new one (in the lobby, with a name of its own), subscribe to its room, send
 * `welcome` first, then (on a resume) every event it missed or (otherwise) the
 * room's recent lines, then live events, and announce a new session to its room;
 * on leave, detach a resumable session or end it, after the member's own
 * publishes, and tell `holds` that it waits for a resume (and, on a resume,
 * that it no longer does).
 */
export class Admission {
  /** Where sessions dropped here are counted while they wait for a resume. */
  holds: SessionHolds = noSessionHolds;
  /** The reads that start members' streams, shared by members starting in one room at once. */
  private readonly reads: JoinReads;

  constructor(
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly streams: RoomStreams,
    private readonly fanout: LocalFanout,
    private readonly publisher: OrderedPublisher,
    private readonly link: NodeLink,
    private readonly options: AdmissionOptions,
  ) {
    this.reads = new JoinReads(bus);
  }

  /**
   * Admit a member: true once it is welcomed and its session announced (it is
   * admitting until its welcome and replay or history are out, then welcomed; the
   * caller makes it live). Rejects (BusUnavailableError) when the cluster cannot
   * be reached; the caller closes the connection. A member whose connection closed
   * before its welcome (`closedWith`) is let go quietly (false): a session it never
   * announced ends unannounced.
   *
   * A session has one holder: resuming one that another connection still holds
   * (on this node or another) closes that connection with 4004 first.
   */
  async admit(member: Member, hello?: HelloFrame): Promise<boolean> {
    const { peer } = member;
    let fresh = true;
    let notices: readonly Notice[] = [];
    /** The room acquired here for the member, once it is. */
    let acquired: RoomName | undefined;
    try {
      const token = hello?.session;
      // Identity on: only the same user's session resumes (the registry answers another's as unknown).
      const found = token === undefined ? undefined : await this.sessions.resume(token, peer.conn, peer.user?.sub);
      // Resumed or ended: it no longer waits for a resume here (if it dropped here).
      if (found) this.holds.released(token!);
      fresh = !found?.live;
      const room = found?.live ? found.room : firstRoomOf(peer);
      await this.streams.acquire(room);
      acquired = room;
      if (found?.live) {
        member.session = { token: token!, start: found.start };
        this.identify(member, found.identity);
        await this.takeOver(member, found);
      } else {
        // A session that ended gives back its id, so refs the client resends are still recognised.
        notices = await this.createSession(member, found, room);
      }
      this.fanout.enter(member, room);
      const start = await this.startOf(member, room, fresh ? undefined : hello);
      const { closedWith } = member;
      if (closedWith !== undefined) {
        this.fanout.leave(member);
        this.streams.release(room);
        this.release(member, closedWith, !fresh);
        return false;
      }
      sendFrame(peer, {
        type: 'welcome',
        id: peer.id,
        nickname: peer.nickname,
        message: welcomeText(peer.nickname),
        node: this.options.nodeId,
        epoch: start.position.epoch,
        seq: start.position.seq,
        room,
        ...(peer.protocol === 'v2' && { session: member.session?.token, resumed: start.resumed }),
        limits: this.options.clientLimits,
      });
      this.fanout.startAt(member, start.position, start.replay, start.history);
      if (hello?.session !== undefined) this.options.metrics?.resume(start.resumed ? 'resumed' : fresh ? 'expired' : 'not_replayed');
      this.options.metrics?.replayed(start.replay.length);
      peer.log.debug({ id: peer.id, nickname: peer.nickname, room, resumed: start.resumed, replayed: start.replay.length }, 'joined');
      // Published before anything the member sends: its first line comes after its connect notice.
      await this.sessions.announce(notices);
      return true;
    } catch (err) {
      this.fanout.leave(member);
      if (acquired !== undefined) this.streams.release(acquired);
      this.release(member, CloseCode.TRY_AGAIN_LATER, !fresh);
      throw err;
    }
  }

  /**
   * Let a member's session go once its own publishes are done: a v2 session that
   * did not close with 1000 (nor 4011: its user was disconnected by the backend,
   * and must not resume it; nor 4012: its token allows it no room) is detached
   * (resumable within the grace window); any other ends, announced unless
   * `announce` is false (a session the cluster never heard of).
   */
  release(member: Member, code: number, announce: boolean): void {
    const { peer } = member;
    const token = member.session?.token;
    if (token === undefined) return;
    const detach = announce && peer.protocol === 'v2' && !ENDS_SESSION.has(code);
    this.publisher.afterPublishes(member, async () => {
      if (!detach) return this.sessions.end(token, peer.conn, announce);
      this.hold(member, await this.sessions.detach(token, peer.conn));
    });
  }

  /** A session detached here waits for a resume: counted for its address until its wait ends (a full grace if unknown). */
  private hold(member: Member, detached: Detached): void {
    const { peer, session } = member;
    if (detached === 'not-held' || peer.address === undefined || session === undefined) return;
    const forMs = detached === 'kept' ? this.graceOf(member) : detached.until - Date.now();
    if (forMs > 0) this.holds.held(peer.address, { token: session.token, conn: peer.conn }, forMs);
  }

  /** The member's session as the registry keeps it. */
  sessionOf(member: Member): SessionInfo | undefined {
    const { peer, session, room } = member;
    if (session === undefined || room === undefined || !member.admitted) return undefined;
    return {
      token: session.token,
      id: peer.id,
      nickname: peer.nickname,
      conn: peer.conn,
      graceMs: this.graceOf(member),
      start: session.start,
      room,
      ...(peer.user !== undefined && { user: peer.user.sub }),
    };
  }

  /**
   * Where a member's stream in `room` starts: for a resume whose `since` is
   * still in the room's history, not before its session began and not too far
   * behind (events and bytes), right after `since` with the missed events to
   * replay; otherwise at the room's head, with its recent lines as history.
   * Called as the member enters the room's fan-out (before any await): its reads
   * may be shared with members starting in the room at the same time (JoinReads).
   */
  async startOf(member: Member, room: RoomName, hello: HelloFrame | undefined): Promise<Start> {
    const arrival = this.reads.arrive(this.streams.position(room));
    const replayed = hello ? await this.replay(member, room, hello, arrival) : undefined;
    if (replayed) return replayed;
    const recent = await this.reads.recent(room, this.options.historyOnJoin, arrival);
    return { position: recent.head, replay: [], history: recent.lines, resumed: false };
  }

  /**
   * A new session for the member, in `room`: its notices, to publish. An ended
   * one (`ended`) gives back its identity, and its clock: the new session waits
   * for a resume no longer than the old one would have.
   */
  private async createSession(member: Member, ended: Resumed | undefined, room: RoomName): Promise<readonly Notice[]> {
    const identity = ended?.identity;
    const liveAt = ended?.live === false ? { liveAt: ended.liveAt } : {};
    const token = nanoid(SESSION_TOKEN_LENGTH);
    const start = this.streams.position(room) ?? (await this.bus.head(room));
    const id = identity?.id ?? nanoid();
    // The name given back may be someone else's by now: then a default name, as for anyone new.
    // A token's `name` claim is the user's name, before any other.
    const locked = member.peer.user?.name;
    const names = locked !== undefined ? [locked] : identity ? [identity.nickname] : [];
    for (let attempt = 0; attempt < names.length + GUEST_NAME_TRIES; attempt++) {
      const nickname = names[attempt] ?? `${DEFAULT_NICKNAME_PREFIX}${await this.bus.nextGuestNumber()}`;
      const user = member.peer.user === undefined ? {} : { user: member.peer.user.sub };
      const session = { token, id, nickname, conn: member.peer.conn, graceMs: this.graceOf(member), start, room, ...liveAt, ...user };
      const created = await this.sessions.create(session, true);
      if (created.ok) {
        member.session = { token, start };
        this.identify(member, { id, nickname });
        return created.notices;
      }
      if (created.reason === 'room-limit') break;
    }
    throw new Error('no session could be created (names taken, or no room left)');
  }

  private identify(member: Member, who: Identity): void {
    member.peer.id = who.id;
    member.peer.nickname = who.nickname;
  }

  /** Close the connection that held the session until now, wherever it is, before this one is welcomed. */
  private async takeOver(member: Member, found: Resumed & { live: true }): Promise<void> {
    const { holder } = found;
    if (!holder) return;
    const confirmed = await this.link.closeConnection(holder.node, holder.conn);
    member.peer.log.info({ holder, confirmed }, 'session taken over from another connection');
  }

  /** The events a resuming member missed in `room`, or undefined when they cannot all be replayed. */
  private async replay(member: Member, room: RoomName, hello: HelloFrame, arrival: Arrival): Promise<Start | undefined> {
    if (hello.since === undefined || hello.epoch === undefined) return undefined;
    const { log } = member.peer;
    if (hello.room !== undefined && hello.room !== room) {
      log.info({ asked: hello.room, room }, 'resume without replay: the session is in another room');
      return undefined;
    }
    const since = { epoch: hello.epoch, seq: hello.since };
    const began = member.session?.start;
    if (began !== undefined && began.epoch === since.epoch && since.seq < began.seq) {
      log.warn({ since: since.seq, sessionStart: began.seq }, 'resume without replay: from before the session began');
      return undefined;
    }
    const bounds = { maxEvents: this.options.resumeMaxEvents, maxBytes: this.options.resumeMaxBytes };
    const history = await this.reads.history(room, since, bounds, arrival).catch(() => undefined);
    // `since` of an earlier epoch whose history the current one kept (a rewind) is answered from where it stands in the current one.
    if (history?.ok) return { position: history.since, replay: history.events, history: [], resumed: true };
    log.info({ since: hello.since, reason: history?.reason ?? 'bus unavailable' }, 'resume without replay');
    return undefined;
  }

  private graceOf(member: Member): number {
    return member.peer.protocol === 'v2' ? this.options.resumeGraceMs : 0;
  }
}

/** Where a new session starts: the lobby, or (identity on) the first room its token allows (checked at the upgrade). */
function firstRoomOf(peer: Peer): RoomName {
  return peer.user?.rooms.firstRoom() ?? DEFAULT_ROOM;
}

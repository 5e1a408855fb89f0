import {
  DEFAULT_ROOM,
  type ClientId,
  type JoinedFrame,
  type NickUpdateFrame,
  type Nickname,
  type NodeId,
  type Position,
  type RoomName,
  type Seq,
  type WelcomeFrame,
} from '@switchboard/protocol';
import type { ProtocolCodec, ResumeFrom } from './protocol-codec.js';

/**
 * Everything a later connection (or a reloaded page) needs to resume this v2
 * session: its token, the room it is in, and the last event delivered there.
 */
export interface ResumePoint extends ResumeFrom {
  /** The client id the session had. */
  readonly id: ClientId;
}

/**
 * Protocol v2: a reconnect did not continue the session with nothing missed.
 * - `session-expired`: the session is gone (grace period over, or unknown): a new session token; the same id
 *   when it ended within the history's lifetime (so resent refs are still recognised), else a new id;
 * - `epoch-changed`: the cluster's history was lost; seqs start again;
 * - `history-unavailable`: same session, but the events since `previous.since` could not be replayed
 *   (or the session is in another room than `previous.room`).
 */
export interface ResumeFailure {
  readonly reason: 'session-expired' | 'epoch-changed' | 'history-unavailable';
  readonly previous: ResumePoint;
  readonly welcome: WelcomeFrame;
  /** In the same room and epoch: the seqs that were never delivered. */
  readonly missed?: { readonly from: Seq; readonly to: Seq };
}

/**
 * Who the client is in the chat, across connections: the latest welcome, the
 * nickname the server knows and the one to hold, the room to be in, and (v2) the
 * point to resume from, kept at the last event delivered in the current room.
 */
export class Session {
  private welcomeFrame: WelcomeFrame | undefined;
  private ownNickname: Nickname | undefined;
  /** The name to hold: from options.nickname, setNick(), or the server's confirmation. */
  private wantedNickname: Nickname | undefined;
  /** The room the server has this client in now. */
  private currentRoom: RoomName | undefined;
  /** The room to be in: from options.room or options.resume, join(), or the server's confirmation. */
  private wantedRoom: RoomName | undefined;
  /** Protocol v2: the session to resume next (options.resume, then the latest welcome's). */
  private point: ResumePoint | undefined;
  /** What the pending attempt's hello asked to resume. */
  private resumingFrom: ResumePoint | undefined;

  constructor(nickname: Nickname | undefined, room: RoomName | undefined, resume: ResumePoint | undefined) {
    this.wantedNickname = nickname;
    this.wantedRoom = room ?? resume?.room;
    this.point = resume;
  }

  get welcome(): WelcomeFrame | undefined {
    return this.welcomeFrame;
  }

  get id(): ClientId | undefined {
    return this.welcomeFrame?.id;
  }

  get node(): NodeId | undefined {
    return this.welcomeFrame?.node;
  }

  /** The nickname the server knows this client by now. */
  get nickname(): Nickname | undefined {
    return this.ownNickname;
  }

  get resumePoint(): ResumePoint | undefined {
    return this.point;
  }

  /** The hello for a new connection speaking `codec`: a resume of the session, when it has one. */
  hello(codec: ProtocolCodec): string | undefined {
    const from = codec.acknowledges ? this.point : undefined;
    this.resumingFrom = from;
    return codec.hello(
      from && { session: from.session, since: from.since, epoch: from.epoch, ...(from.room !== undefined && { room: from.room }) },
    );
  }

  /** Take a welcome: the client's identity, the new resume point, and whether a resume failed. */
  welcomed(frame: WelcomeFrame, codec: ProtocolCodec): ResumeFailure | undefined {
    this.welcomeFrame = frame;
    this.ownNickname = frame.nickname;
    this.currentRoom = frame.room ?? DEFAULT_ROOM;
    const previous = this.resumingFrom;
    this.resumingFrom = undefined;
    if (codec.acknowledges && frame.session !== undefined && frame.epoch !== undefined && frame.seq !== undefined) {
      const room = frame.room === undefined ? {} : { room: frame.room };
      this.point = { session: frame.session, id: frame.id, ...room, epoch: frame.epoch, since: frame.seq };
    }
    if (previous === undefined || frame.resumed === true) return undefined;
    return resumeFailure(previous, frame);
  }

  /** The room the server has this client in now (`lobby` on connecting). */
  get room(): RoomName | undefined {
    return this.currentRoom;
  }

  /** A broadcast event of the current room reached the application: a later resume starts after it. */
  delivered(event: Position): void {
    if (this.point) this.point = { ...this.point, since: event.seq, epoch: event.epoch };
  }

  /**
   * The client moved to `frame.room`: it is the room to be in (and to resume)
   * from now on, at the joined position. A joined also says the client's name.
   */
  joined(frame: JoinedFrame): void {
    this.currentRoom = frame.room;
    this.wantedRoom = frame.room;
    this.ownNickname = frame.nickname;
    if (this.point) this.point = { ...this.point, room: frame.room, since: frame.seq, epoch: frame.epoch };
  }

  /** Be in this room (join()). */
  wantRoom(room: RoomName): void {
    this.wantedRoom = room;
  }

  /** A join was refused: stay where the server has the client. */
  keepCurrentRoom(): void {
    this.wantedRoom = this.currentRoom;
  }

  /** The room to go back to after a welcome in another one (a new session starts in `lobby`), if any. */
  roomToRestore(): RoomName | undefined {
    const wanted = this.wantedRoom;
    return wanted === undefined || wanted === this.currentRoom ? undefined : wanted;
  }

  /** A rename went through; the client's own is the name to hold from now on. */
  renamed(frame: NickUpdateFrame): void {
    if (frame.id !== this.id) return;
    this.ownNickname = frame.nickname;
    this.wantedNickname = frame.nickname;
  }

  /** Hold this name (setNick). */
  want(nickname: Nickname): void {
    this.wantedNickname = nickname;
  }

  /** A rename was refused: hold the name the server knows. */
  keepCurrentName(): void {
    this.wantedNickname = this.ownNickname;
  }

  /** The name to take back after a welcome that does not carry it, if any. */
  nameToRestore(): Nickname | undefined {
    const wanted = this.wantedNickname;
    return wanted === undefined || wanted === this.ownNickname ? undefined : wanted;
  }

  /** close(): the session ends with the connection; nothing is left to resume. */
  forget(): void {
    this.point = undefined;
  }
}

function resumeFailure(previous: ResumePoint, frame: WelcomeFrame): ResumeFailure {
  const sameRoom = (frame.room ?? DEFAULT_ROOM) === (previous.room ?? DEFAULT_ROOM);
  const reason: ResumeFailure['reason'] =
    frame.session !== previous.session || frame.id !== previous.id
      ? 'session-expired'
      : sameRoom && frame.epoch !== previous.epoch
        ? 'epoch-changed'
        : 'history-unavailable';
  const missed =
    sameRoom && frame.epoch === previous.epoch && frame.seq !== undefined && frame.seq > previous.since
      ? { from: previous.since + 1, to: frame.seq }
      : undefined;
  return { reason, previous, welcome: frame, ...(missed && { missed }) };
}

import {
  COMMANDS,
  CloseCode,
  ErrorCode,
  REFRESH_COMMAND_INFO,
  TOKEN_REFRESHED_TEXT,
  errorFrame,
  errorInfo,
  helpText,
  membersText,
  nickChangedText,
  roomNoLongerAllowed,
  roomsText,
  withRef,
  youJoinedText,
  type ClientCommand,
  type Position,
  type RoomName,
} from '@switchboard/protocol';
import type { Metrics } from '../metrics/metrics.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { Admission } from './admission.js';
import type { LocalFanout } from './fanout.js';
import type { Member } from './member.js';
import { sendFrame } from './peer.js';
import type { PresenceCache } from './presence-cache.js';
import type { OrderedPublisher } from './publisher.js';
import type { RoomStreams } from './room-streams.js';

/** What a `joined` answer says when nothing is known of where the member stands. */
const NO_POSITION: Position = { epoch: '', seq: 0 };

/**
 * What each client command becomes: a chat line a `message` event in the
 * member's room; a rename (if the name is free, cluster-wide) a `nick_update`;
 * a join a move to another room (its `left` and `joined` notices, the `joined`
 * answer, the new room's recent lines); who and rooms an answer to the asker
 * alone, from the node's PresenceCache; help the list of commands, to the asker alone. Everything a client asks for reaches
 * others only through the bus.
 *
 * A rename and a join take a round trip to the registry; the commands a member
 * sends meanwhile wait their turn (the member is busy, see Member), so that a
 * line sent after `/join dev` is said in #dev, and a line sent after `/nick ada`
 * is said by ada.
 */
export class CommandHandler {
  constructor(
    private readonly publisher: OrderedPublisher,
    private readonly sessions: SessionRegistry,
    private readonly streams: RoomStreams,
    private readonly fanout: LocalFanout,
    private readonly admission: Admission,
    private readonly presence: PresenceCache,
    private readonly metrics: Metrics,
  ) {}

  handle(member: Member, command: ClientCommand): void {
    if (member.queue(command)) return;
    switch (command.type) {
      case 'message':
        this.say(member, command.message, command.ref);
        return;
      case 'nick':
        this.exclusive(member, () => this.rename(member, command.nickname, command.ref));
        return;
      case 'join':
        this.exclusive(member, async () => {
          await this.join(member, command.room, command.ref);
        });
        return;
      case 'who':
        void this.who(member, command.ref);
        return;
      case 'rooms':
        void this.rooms(member, command.ref);
        return;
      case 'help':
        this.help(member, command.ref);
        return;
      case 'refresh':
        // The connection checks tokens: one that reaches the hub was accepted, and is the peer's `user` now.
        // Without one (identity off) there is nothing to refresh.
        if (member.peer.user === undefined) this.refuse(member, ErrorCode.TOKEN_INVALID, command.ref);
        else this.exclusive(member, () => this.keepToAllowedRooms(member, { answer: true, ref: command.ref }));
        return;
    }
  }

  /**
   * Identity on, a member just admitted: a resumed session may be in a room its
   * token no longer allows (the token changed while it was away). Moved out as
   * after a refresh (below), before anything it sent meanwhile.
   */
  enforceRooms(member: Member): void {
    const { user } = member.peer;
    if (user === undefined || member.room === undefined || user.rooms.allows(member.room)) return;
    this.exclusive(member, () => this.keepToAllowedRooms(member, { answer: false }));
  }

  /**
   * The member's token changed (a refresh) or it came back (a resume): a room
   * its token does not allow is left at once. It gets `error` ROOM_FORBIDDEN
   * naming the room, the room hears it leave (`left`), and it is moved where a
   * new session would start: `lobby` if allowed, else the token's first room
   * (its `joined` answer and that room's recent lines follow). With no room left
   * to it, it is closed with 4012 TOKEN_INVALID, as its upgrade would be refused
   * (401 token_no_room), and its session ends; a move that fails (the cluster
   * unreachable) closes it with 1013. Then, for a refresh, the `ack`.
   */
  private async keepToAllowedRooms(member: Member, refresh: { answer: boolean; ref?: string }): Promise<void> {
    const { peer } = member;
    const room = member.room!;
    const rooms = peer.user?.rooms;
    if (rooms !== undefined && !rooms.allows(room)) {
      sendFrame(peer, { ...errorFrame(peer, roomNoLongerAllowed(room)), room });
      const to = rooms.firstRoom();
      if (to === undefined) {
        peer.log.info({ reason: 'TOKEN_INVALID', room }, 'closing connection: its token allows no room any more');
        this.metrics.closed('token_invalid');
        peer.close(CloseCode.TOKEN_INVALID, 'token allows no room');
        return;
      }
      if (!(await this.join(member, to, undefined))) {
        peer.log.warn({ reason: 'TRY_AGAIN_LATER', room, to }, 'closing connection: could not leave a room its token forbids');
        peer.close(CloseCode.TRY_AGAIN_LATER, 'could not leave a forbidden room, try again');
        return;
      }
      peer.log.info({ from: room, to }, 'moved out of a room its token no longer allows');
    }
    if (!refresh.answer || !member.present) return;
    const position = member.position ?? NO_POSITION;
    sendFrame(peer, {
      type: 'ack',
      id: peer.id,
      nickname: peer.nickname,
      message: TOKEN_REFRESHED_TEXT,
      ...withRef(refresh.ref),
      room: member.room!,
      seq: position.seq,
      epoch: position.epoch,
    });
  }

  private say(member: Member, message: string, ref: string | undefined): void {
    const { peer } = member;
    this.publisher.publish(member, {
      type: 'message',
      room: member.room!,
      id: peer.id,
      nickname: peer.nickname,
      message,
      time: Date.now(),
      ...withRef(ref),
    });
  }

  /**
   * Run `work` with the member busy: its next commands wait until it is done,
   * then run, in order. Its leave waits for all of it (OrderedPublisher.afterPublishes).
   */
  private exclusive(member: Member, work: () => Promise<void>): void {
    member.startCommand();
    const done = work()
      .catch((err: Error) => member.peer.log.warn({ err: err.message }, 'command failed'))
      .then(() => {
        for (const next of member.endCommand()) this.handle(member, next);
      })
      .catch((err: Error) => member.peer.log.error({ err: err.message }, 'commands after a rename or join not handled'));
    member.inFlight.add(done);
  }

  private async rename(member: Member, nickname: string, ref: string | undefined): Promise<void> {
    const { peer } = member;
    // A rename to the name it already has is answered like any other (the seed
    // broadcasts it too): a v2 client waits for the answer to its `ref`.
    const previous = peer.nickname;
    const refusal = (code: ErrorCode) => this.refuse(member, code, ref);
    // A name from the token is the user's: it is not changed here.
    if (peer.user?.name !== undefined) {
      refusal(ErrorCode.NICK_LOCKED);
      return;
    }
    const taken = await this.sessions.rename(member.session!.token, { id: peer.id, nickname }).catch(() => undefined);
    if (taken === undefined) {
      refusal(ErrorCode.BUS_UNAVAILABLE);
      return;
    }
    if (taken === 'nick-taken') {
      refusal(ErrorCode.NICK_TAKEN);
      return;
    }
    peer.nickname = nickname;
    peer.log.debug({ previous, nickname }, 'nick changed');
    this.publisher.publish(
      member,
      {
        type: 'nick_update',
        room: member.room!,
        id: peer.id,
        nickname,
        message: nickChangedText(previous, nickname),
        previous,
        time: Date.now(),
        ...withRef(ref),
      },
      {
        // The cluster never heard of the new name: give it back and keep the old one.
        onFailure: () => {
          if (peer.nickname === nickname) peer.nickname = previous;
          void this.sessions.rename(member.session!.token, { id: peer.id, nickname: previous }).catch(() => undefined);
        },
      },
    );
  }

  /**
   * Move the member to `to`: the registry first (the room limit), then its
   * stream, notices, answer and history. True when the member is in `to` once
   * done (or was already); false when it was refused (and told why).
   */
  private async join(member: Member, to: RoomName, ref: string | undefined): Promise<boolean> {
    const { peer } = member;
    const from = member.room!;
    const answer = () => {
      this.answerJoined(member, ref);
      return true;
    };
    if (peer.user !== undefined && !peer.user.rooms.allows(to)) {
      this.refuse(member, ErrorCode.ROOM_FORBIDDEN, ref);
      return false;
    }
    if (to === from) return answer();
    try {
      await this.streams.acquire(to);
    } catch {
      this.refuse(member, ErrorCode.BUS_UNAVAILABLE, ref);
      return false;
    }
    const moved = await this.sessions.join(member.session!.token, peer.conn, to).catch(() => undefined);
    if (!moved?.ok) {
      this.streams.release(to);
      if (moved?.reason === 'same-room') return answer();
      this.refuse(member, moved?.reason === 'room-limit' ? ErrorCode.ROOM_LIMIT : ErrorCode.BUS_UNAVAILABLE, ref);
      return false;
    }
    // Whoever asks on this node next hears of the move (the mover too, in its next `/who`).
    this.presence.changed(from);
    this.presence.changed(to);
    if (!this.fanout.enter(member, to)) {
      // It left while the registry moved it: the rooms still hear of the move
      // (and its last lines are said in `to`), but its leave let go of `from`,
      // and `to` is not its to keep.
      await this.sessions.announce(moved.notices);
      this.streams.release(to);
      return true;
    }
    // Arriving: from here on nothing fails, so it always catches up in `to`.
    const start = await this.admission.startOf(member, to, undefined).catch(() => undefined);
    // Its leave and arrival are published before anything it says in the new room.
    await this.sessions.announce(moved.notices);
    // `to` is acquired, so its stream knows where it stands.
    const position = start?.position ?? this.streams.position(to);
    this.sendJoined(member, position ?? NO_POSITION, ref);
    this.fanout.startAt(member, position, [], start?.history ?? []);
    this.streams.release(from);
    peer.log.debug({ from, to }, 'moved rooms');
    return true;
  }

  /** `joined` again, for a join to the room the member is in: where it stands now, and no history. */
  private answerJoined(member: Member, ref: string | undefined): void {
    this.sendJoined(member, member.position ?? NO_POSITION, ref);
  }

  private sendJoined(member: Member, position: Position, ref: string | undefined): void {
    const { peer } = member;
    const room = member.room!;
    sendFrame(peer, {
      type: 'joined',
      id: peer.id,
      nickname: peer.nickname,
      message: youJoinedText(room),
      room,
      epoch: position.epoch,
      seq: position.seq,
      ...withRef(ref),
    });
  }

  private async who(member: Member, ref: string | undefined): Promise<void> {
    const { peer } = member;
    const room = member.room!;
    const found = await this.presence.members(room).catch(() => undefined);
    if (!found) {
      this.refuse(member, ErrorCode.BUS_UNAVAILABLE, ref);
      return;
    }
    sendFrame(peer, {
      type: 'members',
      id: peer.id,
      nickname: peer.nickname,
      message: membersText(room, found.members, found.count),
      room,
      members: found.members,
      count: found.count,
      ...withRef(ref),
    });
  }

  private async rooms(member: Member, ref: string | undefined): Promise<void> {
    const { peer } = member;
    const listed = await this.presence.rooms().catch(() => undefined);
    // Identity on: only the rooms its token lets it join.
    const rooms = peer.user === undefined || listed === undefined ? listed : listed.filter((room) => peer.user!.rooms.allows(room.room));
    if (!rooms) {
      this.refuse(member, ErrorCode.BUS_UNAVAILABLE, ref);
      return;
    }
    sendFrame(peer, {
      type: 'rooms',
      id: peer.id,
      nickname: peer.nickname,
      message: roomsText(rooms),
      rooms,
      ...withRef(ref),
    });
  }

  /** The commands there are, to the asker alone: nothing to look up (`/refresh` too, for a connection with a token). */
  private help(member: Member, ref: string | undefined): void {
    const { peer } = member;
    const commands = peer.user === undefined ? COMMANDS : [...COMMANDS, REFRESH_COMMAND_INFO];
    sendFrame(peer, { type: 'help', id: peer.id, nickname: peer.nickname, message: helpText(commands), commands, ...withRef(ref) });
  }

  private refuse(member: Member, code: ErrorCode, ref: string | undefined): void {
    const { peer } = member;
    sendFrame(peer, errorFrame(peer, errorInfo(code), ref));
  }
}

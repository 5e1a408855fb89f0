import { nanoid } from 'nanoid';
import {
  CloseCode,
  DEFAULT_NICKNAME_PREFIX,
  ErrorCode,
  connectedText,
  encodeServerFrame,
  nickChangedText,
  welcomeText,
  type BroadcastEvent,
  type ClientLimits,
  type Epoch,
  type EventDraft,
  type HelloFrame,
  type NodeId,
  type ParseResult,
  type ProtocolErrorInfo,
  type Seq,
  type ServerFrame,
  type SessionToken,
} from '@switchboard/protocol';
import type { Bus, Position } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { SessionInfo, SessionRegistry } from '../sessions/session-registry.js';
import type { Identity, Peer } from './peer.js';
import { Sequencer } from './sequencer.js';

export interface HubOptions {
  readonly nodeId: NodeId;
  /** How long a v2 session survives a drop, in ms. */
  readonly resumeGraceMs: number;
  /** Most events replayed on one resume. */
  readonly resumeMaxEvents: number;
  /** What this node enforces on clients, told to each in `welcome`. */
  readonly clientLimits: ClientLimits;
}

/** A local peer, from the moment it connects, and where it stands in the event sequence. */
interface Member {
  readonly peer: Peer;
  /** Its session, once admission has created or resumed it. */
  token: SessionToken | undefined;
  epoch: Epoch;
  lastSeq: Seq;
  /** While the peer is catching up (welcome and replay not yet sent), live events wait here. */
  backlog: BroadcastEvent[] | undefined;
  /** Settles after the peer's last publish (and session update): its leave is written after it. */
  tail: Promise<unknown>;
  /** Whether its welcome was sent (and, for a new session, its connect notice published). */
  admitted: boolean;
  /** The close code, when the connection closed before admission finished. */
  closedWith: number | undefined;
}

/**
 * The chat hub of one node: it keeps the local peers, turns what they send into
 * broadcast events on the bus, and fans every event that comes back from the bus
 * out to its local peers. It knows the Bus and SessionRegistry interfaces only,
 * never Redis.
 *
 * Local delivery happens only from the bus (through the Sequencer), the sender's
 * own echo included, so all clients on all nodes see one contiguous order. Each
 * event is encoded once per node and the same bytes are handed to every peer.
 */
export class Hub {
  private readonly members = new Map<string, Member>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly sequencer: Sequencer;
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly options: HubOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'hub' });
    this.sequencer = new Sequencer(bus, (event) => this.deliver(event), logger);
  }

  /** Start receiving events from the bus and keeping sessions. */
  start(): void {
    this.bus.start((event) => this.sequencer.onEvent(event));
    this.bus.onHealthChange((health) => {
      if (health.ready) void this.sequencer.init().then(() => this.sequencer.resync(), () => undefined);
    });
    this.sessions.start(
      () => this.liveSessions(),
      (session) => {
        const member = this.members.get(session.conn);
        if (member) this.announceConnected(member);
      },
    );
    void this.sequencer.init().catch(() => undefined);
  }

  /** Number of local peers. */
  get size(): number {
    return this.members.size;
  }

  /**
   * Admit a peer: resume its session or start a new one, send `welcome` first,
   * then (on a resume) every event it missed, then live events; a new session is
   * announced to the cluster. Rejects (BusUnavailableError) when the cluster
   * cannot be reached; the caller closes the connection. A peer that closes
   * meanwhile is let go quietly: a session it never announced ends unannounced.
   */
  async admit(peer: Peer, hello?: HelloFrame): Promise<void> {
    const member: Member = {
      peer, token: undefined, epoch: '', lastSeq: 0, backlog: [], tail: Promise.resolve(), admitted: false, closedWith: undefined,
    };
    this.members.set(peer.conn, member);
    let fresh = true;
    try {
      await this.sequencer.init();
      const found = hello?.session === undefined ? undefined : await this.sessions.resume(hello.session, peer.conn);
      // A session that ended gives back its id, so refs the client resends are still recognised.
      const identity: Identity = found?.identity ?? (await this.identify());
      fresh = !found?.live;
      if (!fresh) {
        member.token = hello!.session;
      } else {
        const token = nanoid(32);
        await this.sessions.create({ token, ...identity, conn: peer.conn, graceMs: this.graceOf(peer) });
        member.token = token;
      }
      peer.id = identity.id;
      peer.nickname = identity.nickname;

      let start: Position = this.sequencer.position() ?? (await this.bus.head());
      let replay: readonly BroadcastEvent[] = [];
      let resumed = false;
      if (!fresh && hello?.since !== undefined && hello.epoch !== undefined) {
        const history = await this.bus
          .history({ epoch: hello.epoch, seq: hello.since }, this.options.resumeMaxEvents)
          .catch(() => undefined);
        if (history?.ok) {
          start = { epoch: hello.epoch, seq: hello.since };
          replay = history.events;
          resumed = true;
        } else {
          peer.log.info({ since: hello.since, reason: history?.reason ?? 'bus unavailable' }, 'resume without replay');
        }
      }
      if (member.closedWith !== undefined) {
        this.release(member, member.closedWith, !fresh);
        return;
      }

      this.sendTo(peer, {
        type: 'welcome',
        id: peer.id,
        nickname: peer.nickname,
        message: welcomeText(peer.nickname),
        node: this.options.nodeId,
        epoch: start.epoch,
        seq: start.seq,
        ...(peer.dialect === 'v2' && { session: member.token, resumed }),
        limits: this.options.clientLimits,
      });
      member.epoch = start.epoch;
      member.lastSeq = start.seq;
      const backlog = member.backlog!;
      member.backlog = undefined;
      for (const event of [...replay, ...backlog]) this.forward(member, event, undefined);
      member.admitted = true;
      peer.log.info({ id: peer.id, nickname: peer.nickname, resumed, replayed: replay.length, peers: this.members.size }, 'joined');
      if (fresh) this.announceConnected(member);
    } catch (err) {
      this.members.delete(peer.conn);
      this.release(member, CloseCode.INTERNAL_ERROR, !fresh);
      throw err;
    }
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
    this.members.delete(peer.conn);
    if (!member.admitted) {
      member.closedWith = code; // admit() lets it go when it gets there
      return;
    }
    peer.log.info({ id: peer.id, nickname: peer.nickname, code, peers: this.members.size }, 'left');
    this.release(member, code, true);
  }

  /** Handle one parsed frame from an admitted peer. */
  receive(peer: Peer, parsed: ParseResult): void {
    const member = this.members.get(peer.conn);
    if (!member) return;
    if (!parsed.ok) {
      peer.log.info({ code: parsed.error.code }, 'refused client input');
      this.refuse(peer, parsed.error, parsed.ref);
      return;
    }
    const command = parsed.command;
    const ref = command.ref === undefined ? {} : { ref: command.ref };
    switch (command.type) {
      case 'message':
        this.publish(member, { type: 'message', id: peer.id, nickname: peer.nickname, message: command.message, time: Date.now(), ...ref });
        return;
      case 'nick': {
        const previous = peer.nickname;
        peer.nickname = command.nickname;
        peer.log.info({ previous, nickname: command.nickname }, 'nick changed');
        this.publish(
          member,
          {
            type: 'nick_update',
            id: peer.id,
            nickname: command.nickname,
            message: nickChangedText(previous, command.nickname),
            previous,
            time: Date.now(),
            ...ref,
          },
          () => {
            // The cluster never heard of the new name: keep the old one.
            if (peer.nickname === command.nickname) peer.nickname = previous;
          },
          () => this.sessions.rename(member.token!, command.nickname),
        );
        return;
      }
    }
  }

  /** Tell a peer no. Nothing is broadcast. */
  refuse(peer: Peer, error: ProtocolErrorInfo, ref?: string): void {
    this.sendTo(peer, { type: 'error', id: peer.id, nickname: peer.nickname, ...error, ...(ref === undefined ? {} : { ref }) });
  }

  /** Wait until every publish and session update that was started has finished (for shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Let a member's session go once its own publishes are done: a v2 session that
   * did not close with 1000 is detached (resumable); any other ends, announced
   * unless `announce` is false (a session the cluster never heard of).
   */
  private release(member: Member, code: number, announce: boolean): void {
    const { peer, token } = member;
    if (token === undefined) return;
    const detach = announce && peer.dialect === 'v2' && code !== CloseCode.NORMAL;
    const done = member.tail.then(() =>
      detach ? this.sessions.detach(token, peer.conn) : this.sessions.end(token, peer.conn, announce),
    );
    this.track(done.catch((err: Error) => peer.log.warn({ err: err.message }, 'session not updated on leave')));
  }

  private announceConnected(member: Member): void {
    const { peer } = member;
    this.publish(member, {
      type: 'notification',
      id: peer.id,
      nickname: peer.nickname,
      message: connectedText(peer.nickname),
      event: 'connected',
      time: Date.now(),
    });
  }

  private *liveSessions(): Iterable<SessionInfo> {
    for (const m of this.members.values()) {
      if (m.token === undefined || !m.admitted) continue;
      yield { token: m.token, id: m.peer.id, nickname: m.peer.nickname, conn: m.peer.conn, graceMs: this.graceOf(m.peer) };
    }
  }

  /** A fresh identity: a nanoid and `AnonymousUser<N>` with N unique in the cluster. */
  private async identify(): Promise<Identity> {
    const n = await this.bus.nextGuestNumber();
    return { id: nanoid(), nickname: `${DEFAULT_NICKNAME_PREFIX}${n}` };
  }

  private graceOf(peer: Peer): number {
    return peer.dialect === 'v2' ? this.options.resumeGraceMs : 0;
  }

  /** Fan one event out to every local peer: encoded once, the same bytes for all. */
  private deliver(event: BroadcastEvent): void {
    const frame = Buffer.from(encodeServerFrame(event));
    for (const member of this.members.values()) this.forward(member, event, frame);
  }

  /** Send an event to one member unless it already has it; hold it while the member catches up. */
  private forward(member: Member, event: BroadcastEvent, frame: Buffer | undefined): void {
    if (member.backlog) {
      member.backlog.push(event);
      return;
    }
    if (event.epoch !== member.epoch) {
      member.epoch = event.epoch;
      member.lastSeq = 0;
    }
    if (event.seq <= member.lastSeq) return;
    member.lastSeq = event.seq;
    member.peer.sendEncoded(frame ?? Buffer.from(encodeServerFrame(event)));
  }

  /**
   * Publish for a member. Its publishes go out in order on one connection; `tail`
   * follows the latest (with its session update) so the member's leave is written
   * after them.
   */
  private publish(member: Member, draft: EventDraft, onFailure?: () => void, onSuccess?: () => Promise<void>): void {
    const { peer } = member;
    const publishing = this.bus.publish(draft).then(
      async (result) => {
        if (result.duplicate && draft.ref !== undefined) {
          this.sendTo(peer, {
            type: 'ack',
            id: peer.id,
            nickname: peer.nickname,
            message: 'Already sent; not sent again.',
            ref: draft.ref,
            seq: result.seq,
            epoch: result.epoch,
          });
        }
        await onSuccess?.();
      },
      (err: Error) => {
        peer.log.warn({ type: draft.type, err: err.message }, 'event not published');
        onFailure?.();
        if (draft.type !== 'notification' && this.members.has(peer.conn)) {
          this.refuse(
            peer,
            { code: ErrorCode.BUS_UNAVAILABLE, message: 'Not delivered: the chat cluster is unreachable right now. Please try again.' },
            draft.ref,
          );
        }
      },
    );
    const settled = publishing.catch((err: Error) => peer.log.warn({ err: err.message }, 'after-publish step failed'));
    const previous = member.tail;
    member.tail = Promise.all([previous, settled]);
    this.track(settled);
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private sendTo(peer: Peer, frame: ServerFrame): void {
    peer.sendEncoded(Buffer.from(encodeServerFrame(frame)));
  }
}

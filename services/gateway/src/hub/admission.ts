import { nanoid } from 'nanoid';
import {
  CloseCode,
  DEFAULT_NICKNAME_PREFIX,
  connectedNotice,
  welcomeText,
  type BroadcastEvent,
  type ClientLimits,
  type HelloFrame,
  type Identity,
  type NodeId,
  type Position,
} from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { NodeLink } from '../cluster/node-link.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Resumed, SessionInfo, SessionRegistry } from '../sessions/session-registry.js';
import type { LocalFanout } from './fanout.js';
import { sendFrame, type Member } from './member.js';
import type { OrderedPublisher } from './publisher.js';
import type { Sequencer } from './sequencer.js';

export interface AdmissionOptions {
  readonly nodeId: NodeId;
  /** How long a v2 session survives a drop, in ms. */
  readonly resumeGraceMs: number;
  /** Most events replayed on one resume. */
  readonly resumeMaxEvents: number;
  /** Most bytes of events replayed on one resume. */
  readonly resumeMaxBytes: number;
  /** What this node enforces on clients, told to each in `welcome`. */
  readonly clientLimits: ClientLimits;
  /** Where resumes and replays are counted (none by default). */
  readonly metrics?: Metrics;
}

/** Length of a session token (nanoid characters): a secret, never derived from the client id. */
const SESSION_TOKEN_LENGTH = 32;

/**
 * A member's session from its first frame to its leave: resume it or start a
 * new one, send `welcome` first, then (on a resume) every event it missed, then
 * live events, and announce a new session to the cluster; on leave, detach a
 * resumable session or end it, after the member's own publishes.
 */
export class Admission {
  constructor(
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    private readonly sequencer: Sequencer,
    private readonly fanout: LocalFanout,
    private readonly publisher: OrderedPublisher,
    private readonly link: NodeLink,
    private readonly options: AdmissionOptions,
  ) {}

  /**
   * Admit a member. Rejects (BusUnavailableError) when the cluster cannot be
   * reached; the caller closes the connection. A member whose connection closed
   * meanwhile (`closedWith`) is let go quietly: a session it never announced ends unannounced.
   *
   * A session has one holder: resuming one that another connection still holds
   * (on this node or another) closes that connection with 4004 first.
   */
  async admit(member: Member, hello?: HelloFrame): Promise<void> {
    const { peer } = member;
    let fresh = true;
    try {
      await this.sequencer.init();
      const found = hello?.session === undefined ? undefined : await this.sessions.resume(hello.session, peer.conn);
      // A session that ended gives back its id, so refs the client resends are still recognised.
      const identity: Identity = found?.identity ?? (await this.identify());
      fresh = !found?.live;
      if (found?.live) {
        member.token = hello!.session;
        member.sessionStart = found.start;
        await this.takeOver(member, found);
      } else {
        const token = nanoid(SESSION_TOKEN_LENGTH);
        const start = this.sequencer.position() ?? (await this.bus.head());
        await this.sessions.create({ token, ...identity, conn: peer.conn, graceMs: this.graceOf(member), start });
        member.token = token;
        member.sessionStart = start;
      }
      peer.id = identity.id;
      peer.nickname = identity.nickname;

      const { start, replay, resumed } = await this.catchUp(member, fresh ? undefined : hello);
      if (member.closedWith !== undefined) {
        this.release(member, member.closedWith, !fresh);
        return;
      }
      sendFrame(peer, {
        type: 'welcome',
        id: peer.id,
        nickname: peer.nickname,
        message: welcomeText(peer.nickname),
        node: this.options.nodeId,
        epoch: start.epoch,
        seq: start.seq,
        ...(peer.protocol === 'v2' && { session: member.token, resumed }),
        limits: this.options.clientLimits,
      });
      this.fanout.startAt(member, start, replay);
      member.admitted = true;
      if (hello?.session !== undefined) this.options.metrics?.resume(resumed ? 'resumed' : fresh ? 'expired' : 'not_replayed');
      this.options.metrics?.replayed(replay.length);
      peer.log.info({ id: peer.id, nickname: peer.nickname, resumed, replayed: replay.length }, 'joined');
      if (fresh) this.announceConnected(member);
    } catch (err) {
      this.release(member, CloseCode.TRY_AGAIN_LATER, !fresh);
      throw err;
    }
  }

  /**
   * Let a member's session go once its own publishes are done: a v2 session that
   * did not close with 1000 is detached (resumable within the grace window); any
   * other ends, announced unless `announce` is false (a session the cluster never heard of).
   */
  release(member: Member, code: number, announce: boolean): void {
    const { peer, token } = member;
    if (token === undefined) return;
    const detach = announce && peer.protocol === 'v2' && code !== CloseCode.NORMAL;
    this.publisher.afterPublishes(member, () =>
      detach ? this.sessions.detach(token, peer.conn) : this.sessions.end(token, peer.conn, announce),
    );
  }

  /** Tell the cluster that the member's session started (or is here again after being taken for gone). */
  announceConnected(member: Member): void {
    this.publisher.publish(member, connectedNotice(member.peer, Date.now()));
  }

  /** The member's session as the registry keeps it. */
  sessionOf(member: Member): SessionInfo | undefined {
    if (member.token === undefined || member.sessionStart === undefined || !member.admitted) return undefined;
    const { peer } = member;
    return {
      token: member.token,
      id: peer.id,
      nickname: peer.nickname,
      conn: peer.conn,
      graceMs: this.graceOf(member),
      start: member.sessionStart,
    };
  }

  /** Close the connection that held the session until now, wherever it is, before this one is welcomed. */
  private async takeOver(member: Member, found: Resumed & { live: true }): Promise<void> {
    const { holder } = found;
    if (!holder) return;
    const confirmed = await this.link.closeConnection(holder.node, holder.conn);
    member.peer.log.info({ holder, confirmed }, 'session taken over from another connection');
  }

  /**
   * Where the member's events start: for a resume whose `since` is still in the
   * history, not before its session began and not too far behind (events and
   * bytes), right after `since` with the missed events to replay; otherwise at
   * the head, with nothing to replay.
   */
  private async catchUp(
    member: Member,
    hello: HelloFrame | undefined,
  ): Promise<{ start: Position; replay: readonly BroadcastEvent[]; resumed: boolean }> {
    const head = this.sequencer.position() ?? (await this.bus.head());
    if (hello?.since === undefined || hello.epoch === undefined) return { start: head, replay: [], resumed: false };
    const since = { epoch: hello.epoch, seq: hello.since };
    const { log } = member.peer;
    const began = member.sessionStart;
    if (began !== undefined && began.epoch === since.epoch && since.seq < began.seq) {
      log.warn({ since: since.seq, sessionStart: began.seq }, 'resume without replay: from before the session began');
      return { start: head, replay: [], resumed: false };
    }
    const bounds = { maxEvents: this.options.resumeMaxEvents, maxBytes: this.options.resumeMaxBytes };
    const history = await this.bus.history(since, bounds).catch(() => undefined);
    if (history?.ok) return { start: since, replay: history.events, resumed: true };
    log.info({ since: hello.since, reason: history?.reason ?? 'bus unavailable' }, 'resume without replay');
    return { start: head, replay: [], resumed: false };
  }

  /** A fresh identity: a nanoid and `AnonymousUser<N>` with N unique in the cluster. */
  private async identify(): Promise<Identity> {
    const n = await this.bus.nextGuestNumber();
    return { id: nanoid(), nickname: `${DEFAULT_NICKNAME_PREFIX}${n}` };
  }

  private graceOf(member: Member): number {
    return member.peer.protocol === 'v2' ? this.options.resumeGraceMs : 0;
  }
}

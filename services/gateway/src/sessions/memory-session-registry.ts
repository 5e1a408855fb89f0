import {
  DEFAULT_ROOM,
  RESUME_LIVE_MS,
  disconnectedNotice,
  presenceNotice,
  summaryNotice,
  type Identity,
  type MemberInfo,
  type Nickname,
  type NodeId,
  type Position,
  type PresenceEvent,
  type RoomInfo,
  type RoomName,
  type SessionToken,
} from '@switchboard/protocol';
import { nanoid } from 'nanoid';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { RateLimiter } from '../ws/rate-limiter.js';
import { nicknameKeys } from './nickname-keys.js';
import type {
  Created,
  Detached,
  Joined,
  Members,
  Notice,
  PresenceLimits,
  Resumed,
  SessionInfo,
  SessionRegistry,
} from './session-registry.js';

/** Ended sessions remembered at most (oldest forgotten first). */
const MAX_TOMBSTONES = 10_000;

interface Entry {
  id: string;
  nickname: Nickname;
  conn: string;
  graceMs: number;
  start: Position;
  room: RoomName;
  /** How many times it moved rooms: numbers the `once` keys of its join and leave notices. */
  moves: number;
  /** This registration of the session (a session registered again is a new one): names its notices' `once` keys. */
  readonly incarnation: string;
  /** When its connection began holding it (ms since the epoch). */
  since: number;
  /** When a live connection last held it (SessionInfo.liveAt). */
  liveAt: number;
  /** Identity on: its user (SessionInfo.user). */
  readonly user?: string;
  /** While it waits for a resume: the connection whose drop left it waiting, and when its wait ends. */
  dropped?: string;
  until?: number;
  timer?: NodeJS.Timeout;
}

export interface MemorySessionRegistryOptions extends PresenceLimits {
  /** This node: the holder of every session here. */
  readonly nodeId: NodeId;
  /** How long an ended session's identity is remembered, in ms (the history's age). */
  readonly tombstoneTtlMs: number;
  /** How often a crowded room hears the sum of its comings and goings, in ms. */
  readonly summaryIntervalMs: number;
  /** How long a connection must hold its session to be live, in ms (RESUME_LIVE_MS by default). */
  readonly resumeLiveMs?: number;
}

/**
 * Sessions, presence and nicknames of a single node, kept in memory; notices go
 * through the bus. The same contract as RedisSessionRegistry (the contract
 * tests hold both to it).
 */
export class MemorySessionRegistry implements SessionRegistry {
  private readonly sessions = new Map<SessionToken, Entry>();
  /** Ended sessions: who they were and until when that is remembered. */
  private readonly tombstones = new Map<SessionToken, { identity: Identity; liveAt: number; until: number; user: string | undefined }>();
  /** Nickname key (each of a name's, nickname-keys.ts) -> who holds it: a session's token, or a user's sessions. */
  private readonly nicks = new Map<string, NickHolder>();
  /** `u:<user>\n<key>` -> how many of the user's sessions hold that key (they share the name). */
  private readonly userNicks = new Map<string, number>();
  /** Room -> token -> who. */
  private readonly roomMembers = new Map<RoomName, Map<SessionToken, MemberInfo>>();
  /** Comings and goings of crowded rooms (and moves past a room's budget) since the last summary. */
  private readonly summaries = new Map<RoomName, { joined: number; left: number }>();
  /** Each room's budget of `joined` and `left` notices, while it has people (made at its first move). */
  private readonly moveBudgets = new Map<RoomName, RateLimiter>();
  private summaryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly options: MemorySessionRegistryOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'sessions' });
  }

  start(): void {
    // One process: no leases, no other node to sweep for; only the summaries of crowded rooms.
    this.summaryTimer = setInterval(() => void this.publishSummaries(), this.options.summaryIntervalMs);
    this.summaryTimer.unref();
  }

  ready(): boolean {
    return true;
  }

  onHealthChange(): void {
    // Always ready: nothing to report.
  }

  create(session: SessionInfo, announce: boolean): Promise<Created> {
    const holder = holderOf(session.token, session.user);
    if (this.nickTaken(session.nickname, holder)) return Promise.resolve({ ok: false, reason: 'nick-taken' });
    if (!this.roomAllowed(session.room)) return Promise.resolve({ ok: false, reason: 'room-limit' });
    this.holdNick(session.nickname, holder);
    const incarnation = nanoid(12);
    const now = Date.now();
    this.sessions.set(session.token, { ...session, moves: 0, incarnation, since: now, liveAt: session.liveAt ?? now });
    this.enter(session.room, session.token, session);
    const notice = announce ? this.notice(session.room, 'connected', session, `p:${incarnation}:connected`) : undefined;
    return Promise.resolve({ ok: true, notices: notice ? [notice] : [] });
  }

  async resume(token: SessionToken, conn: string, user?: string): Promise<Resumed | undefined> {
    const now = Date.now();
    let entry = this.sessions.get(token);
    // Another user's session (or one with a user, asked for without one): as if unknown, and nothing changes.
    const known = entry ?? this.tombstones.get(token);
    if (known !== undefined && known.user !== user) return undefined;
    if (entry && entry.conn === '' && entry.until !== undefined && entry.until <= now) {
      // Its wait is over and its timer has not run yet: it ends now, as the timer would have ended it.
      await this.finish(token, entry);
      entry = undefined;
    }
    if (!entry) {
      const tomb = this.tombstones.get(token);
      this.tombstones.delete(token);
      return tomb && tomb.until > now ? { identity: tomb.identity, live: false, liveAt: tomb.liveAt } : undefined;
    }
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.dropped = entry.until = undefined;
    const holder = entry.conn === '' ? {} : { holder: { node: this.options.nodeId, conn: entry.conn } };
    // The connection that held it until now lets go of it (a drop's clock was already read at the drop).
    if (entry.conn !== '') this.letGo(entry, now);
    entry.conn = conn;
    entry.since = now;
    const identity = { id: entry.id, nickname: entry.nickname };
    return { identity, live: true, start: entry.start, room: entry.room, ...holder };
  }

  rename(token: SessionToken, who: Identity): Promise<'ok' | 'nick-taken'> {
    const entry = this.sessions.get(token);
    if (!entry) return Promise.resolve('ok');
    if (this.nickTaken(who.nickname, holderOf(token, entry.user))) return Promise.resolve('nick-taken');
    this.releaseNick(entry.nickname, holderOf(token, entry.user));
    this.holdNick(who.nickname, holderOf(token, entry.user));
    entry.nickname = who.nickname;
    this.roomMembers.get(entry.room)?.set(token, { id: entry.id, nickname: who.nickname });
    return Promise.resolve('ok');
  }

  join(token: SessionToken, conn: string, room: RoomName): Promise<Joined> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== conn) return Promise.resolve({ ok: false, reason: 'not-held' });
    const from = entry.room;
    if (from === room) return Promise.resolve({ ok: false, reason: 'same-room' });
    if (!this.roomAllowed(room)) return Promise.resolve({ ok: false, reason: 'room-limit' });
    entry.moves += 1;
    this.leaveRoom(from, token);
    const left = this.notice(from, 'left', entry, `p:${entry.incarnation}:left:${entry.moves}`, true);
    entry.room = room;
    this.enter(room, token, entry);
    const joined = this.notice(room, 'joined', entry, `p:${entry.incarnation}:joined:${entry.moves}`, true);
    return Promise.resolve({ ok: true, from, notices: [left, joined].filter((n) => n !== undefined) });
  }

  members(room: RoomName, max: number): Promise<Members> {
    const all = this.roomMembers.get(room);
    return Promise.resolve({ members: all ? [...all.values()].slice(0, max) : [], count: all?.size ?? 0 });
  }

  rooms(max: number): Promise<readonly RoomInfo[]> {
    const rooms = [...this.roomMembers].map(([room, members]) => ({ room, count: members.size }));
    return Promise.resolve(rooms.sort((a, b) => b.count - a.count || a.room.localeCompare(b.room)).slice(0, max));
  }

  async announce(notices: readonly Notice[]): Promise<void> {
    for (const notice of notices) {
      try {
        await this.bus.publish(notice.draft, notice.once);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, room: notice.draft.room }, 'notice not published');
      }
    }
  }

  detach(token: SessionToken, conn: string): Promise<Detached> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== conn) return Promise.resolve('not-held');
    const now = Date.now();
    this.letGo(entry, now);
    const until = entry.liveAt + entry.graceMs;
    entry.conn = '';
    entry.dropped = conn;
    entry.until = until;
    entry.timer = setTimeout(() => void this.finish(token, entry), Math.max(0, until - now));
    entry.timer.unref();
    return Promise.resolve({ until });
  }

  async expire(token: SessionToken, conn: string): Promise<void> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== '' || entry.dropped !== conn) return;
    await this.finish(token, entry);
  }

  onResumedElsewhere(): void {
    // One node: a session is resumed where it dropped, or nowhere.
  }

  async end(token: SessionToken, conn: string, announce: boolean): Promise<void> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== conn) return;
    await this.finish(token, entry, announce);
  }

  close(): Promise<void> {
    clearInterval(this.summaryTimer);
    for (const entry of this.sessions.values()) clearTimeout(entry.timer);
    return Promise.resolve();
  }

  private async finish(token: SessionToken, entry: Entry, announce = true): Promise<void> {
    if (this.sessions.get(token) !== entry) return;
    this.sessions.delete(token);
    clearTimeout(entry.timer);
    this.releaseNick(entry.nickname, holderOf(token, entry.user));
    this.leaveRoom(entry.room, token);
    // A seed-protocol session (no grace) has no token to come back with: nothing to remember.
    if (entry.graceMs > 0) {
      const identity = { id: entry.id, nickname: entry.nickname };
      this.tombstones.set(token, { identity, liveAt: entry.liveAt, until: Date.now() + this.options.tombstoneTtlMs, user: entry.user });
      if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!);
    }
    if (!announce) return;
    const notice = this.notice(entry.room, 'disconnected', entry, `p:${entry.incarnation}:disconnected`);
    if (notice) await this.announce([notice]);
  }

  /**
   * The connection holding the session lets go of it `now`: if it held it at
   * least RESUME_LIVE_MS (or half its grace, if that is shorter) it was live,
   * and the session's clock moves to now.
   */
  private letGo(entry: Entry, now: number): void {
    const needed = Math.min(this.options.resumeLiveMs ?? RESUME_LIVE_MS, entry.graceMs / 2);
    if (now - entry.since >= needed) entry.liveAt = now;
  }

  /**
   * A presence notice, or a count toward the room's next summary: in a room past
   * the limit, or for a move (`budgeted`) past the room's budget of such notices.
   * A room nobody is in any more spends no budget (nobody hears it). As the
   * session scripts' notice() decides it.
   */
  private notice(room: RoomName, event: PresenceEvent, who: Identity, ref: string, budgeted = false): Notice | undefined {
    const going = event === 'left' || event === 'disconnected';
    const present = this.roomMembers.get(room)?.size ?? 0;
    const count = present + (going ? 1 : 0);
    if (count > this.options.presenceNoticeLimit || (budgeted && present > 0 && !this.moveBudget(room).take())) {
      const sums = this.summaries.get(room) ?? { joined: 0, left: 0 };
      if (going) sums.left += 1;
      else sums.joined += 1;
      this.summaries.set(room, sums);
      return undefined;
    }
    const draft = event === 'disconnected' ? disconnectedNotice(who, room, Date.now()) : presenceNotice(event, who, room, Date.now());
    return { draft, once: ref, key: ref };
  }

  private async publishSummaries(): Promise<void> {
    const taken = [...this.summaries];
    this.summaries.clear();
    for (const [room, { joined, left }] of taken) {
      await this.bus.publish(summaryNotice(room, joined, left, Date.now())).catch((err: Error) => {
        this.log.warn({ err: err.message, room }, 'presence summary not published');
      });
    }
  }

  private moveBudget(room: RoomName): RateLimiter {
    let budget = this.moveBudgets.get(room);
    if (!budget) {
      budget = new RateLimiter(this.options.joinNoticeRatePerSec, this.options.joinNoticeBurst);
      this.moveBudgets.set(room, budget);
    }
    return budget;
  }

  private roomAllowed(room: RoomName): boolean {
    return room === DEFAULT_ROOM || this.roomMembers.has(room) || this.roomMembers.size < this.options.maxRooms;
  }

  private enter(room: RoomName, token: SessionToken, who: Identity): void {
    let members = this.roomMembers.get(room);
    if (!members) {
      members = new Map();
      this.roomMembers.set(room, members);
    }
    members.set(token, { id: who.id, nickname: who.nickname });
  }

  private leaveRoom(room: RoomName, token: SessionToken): void {
    const members = this.roomMembers.get(room);
    if (!members) return;
    members.delete(token);
    if (members.size > 0) return;
    this.roomMembers.delete(room);
    this.moveBudgets.delete(room);
  }

  /** Whether another holder has a name that is the same as `nickname` (one of its keys, nickname-keys.ts). */
  private nickTaken(nickname: Nickname, holder: NickHolder): boolean {
    return nicknameKeys(nickname).some((key) => {
      const current = this.nicks.get(key);
      return current !== undefined && current !== holder;
    });
  }

  private holdNick(nickname: Nickname, holder: NickHolder): void {
    for (const key of nicknameKeys(nickname)) {
      this.nicks.set(key, holder);
      if (isUser(holder)) this.userNicks.set(`${holder}\n${key}`, (this.userNicks.get(`${holder}\n${key}`) ?? 0) + 1);
    }
  }

  private releaseNick(nickname: Nickname, holder: NickHolder): void {
    for (const key of nicknameKeys(nickname)) {
      if (isUser(holder)) {
        const count = (this.userNicks.get(`${holder}\n${key}`) ?? 0) - 1;
        if (count > 0) {
          this.userNicks.set(`${holder}\n${key}`, count);
          continue;
        }
        this.userNicks.delete(`${holder}\n${key}`);
      }
      if (this.nicks.get(key) === holder) this.nicks.delete(key);
    }
  }
}

/** Who holds a nickname: a session's token, or (identity on) `u:<user>`, shared by the user's sessions. */
type NickHolder = string;

function holderOf(token: SessionToken, user: string | undefined): NickHolder {
  return user === undefined ? token : `u:${user}`;
}

function isUser(holder: NickHolder): boolean {
  return holder.startsWith('u:');
}

import { disconnectedNotice, type Identity, type Nickname, type NodeId, type Position, type SessionToken } from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Resumed, SessionInfo, SessionRegistry } from './session-registry.js';

/** Ended sessions remembered at most (oldest forgotten first). */
const MAX_TOMBSTONES = 10_000;

interface Entry {
  id: string;
  nickname: Nickname;
  conn: string;
  graceMs: number;
  start: Position;
  timer?: NodeJS.Timeout;
}

export interface MemorySessionRegistryOptions {
  /** This node: the holder of every session here. */
  readonly nodeId: NodeId;
  /** How long an ended session's identity is remembered, in ms (the history's age). */
  readonly tombstoneTtlMs: number;
}

/** Sessions of a single node, kept in memory; the disconnect notice goes through the bus. */
export class MemorySessionRegistry implements SessionRegistry {
  private readonly sessions = new Map<SessionToken, Entry>();
  /** Ended sessions: who they were and until when that is remembered. */
  private readonly tombstones = new Map<SessionToken, { identity: Identity; until: number }>();
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly options: MemorySessionRegistryOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'sessions' });
  }

  start(): void {
    // One process: no leases, no other node to sweep for.
  }

  ready(): boolean {
    return true;
  }

  onHealthChange(): void {
    // Always ready: nothing to report.
  }

  create(session: SessionInfo): Promise<void> {
    this.sessions.set(session.token, { ...session });
    return Promise.resolve();
  }

  resume(token: SessionToken, conn: string): Promise<Resumed | undefined> {
    const entry = this.sessions.get(token);
    if (!entry) {
      const tomb = this.tombstones.get(token);
      this.tombstones.delete(token);
      const ended = tomb && tomb.until > Date.now() ? { identity: tomb.identity, live: false as const } : undefined;
      return Promise.resolve(ended);
    }
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const holder = entry.conn === '' ? {} : { holder: { node: this.options.nodeId, conn: entry.conn } };
    entry.conn = conn;
    return Promise.resolve({ identity: { id: entry.id, nickname: entry.nickname }, live: true, start: entry.start, ...holder });
  }

  rename(token: SessionToken, who: Identity): Promise<void> {
    const entry = this.sessions.get(token);
    if (entry) entry.nickname = who.nickname;
    return Promise.resolve();
  }

  detach(token: SessionToken, conn: string): Promise<void> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== conn) return Promise.resolve();
    entry.conn = '';
    entry.timer = setTimeout(() => void this.finish(token, entry), entry.graceMs);
    entry.timer.unref();
    return Promise.resolve();
  }

  async end(token: SessionToken, conn: string, announce: boolean): Promise<void> {
    const entry = this.sessions.get(token);
    if (!entry || entry.conn !== conn) return;
    await this.finish(token, entry, announce);
  }

  close(): Promise<void> {
    for (const entry of this.sessions.values()) clearTimeout(entry.timer);
    return Promise.resolve();
  }

  private async finish(token: SessionToken, entry: Entry, announce = true): Promise<void> {
    if (this.sessions.get(token) !== entry) return;
    this.sessions.delete(token);
    clearTimeout(entry.timer);
    // A seed-protocol session (no grace) has no token to come back with: nothing to remember.
    if (entry.graceMs > 0) {
      this.tombstones.set(token, { identity: { id: entry.id, nickname: entry.nickname }, until: Date.now() + this.options.tombstoneTtlMs });
      if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!);
    }
    if (!announce) return;
    try {
      await this.bus.publish(disconnectedNotice(entry, Date.now()));
    } catch (err) {
      this.log.warn({ err: (err as Error).message, id: entry.id }, 'disconnect notice not published');
    }
  }
}

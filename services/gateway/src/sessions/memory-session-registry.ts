import { disconnectedText, type Nickname, type SessionToken } from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Identity } from '../hub/peer.js';
import type { Logger } from '../logger.js';
import type { SessionInfo, SessionRegistry } from './session-registry.js';

interface Entry {
  id: string;
  nickname: Nickname;
  conn: string;
  graceMs: number;
  timer?: NodeJS.Timeout;
}

/** Sessions of a single node, kept in memory; the disconnect notice goes through the bus. */
export class MemorySessionRegistry implements SessionRegistry {
  private readonly sessions = new Map<SessionToken, Entry>();
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
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

  create(session: SessionInfo): Promise<void> {
    this.sessions.set(session.token, { ...session });
    return Promise.resolve();
  }

  resume(token: SessionToken, conn: string): Promise<Identity | undefined> {
    const entry = this.sessions.get(token);
    if (!entry) return Promise.resolve(undefined);
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.conn = conn;
    return Promise.resolve({ id: entry.id, nickname: entry.nickname });
  }

  rename(token: SessionToken, nickname: Nickname): Promise<void> {
    const entry = this.sessions.get(token);
    if (entry) entry.nickname = nickname;
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
    if (!announce) return;
    try {
      await this.bus.publish({
        type: 'notification',
        id: entry.id,
        nickname: entry.nickname,
        message: disconnectedText(entry.nickname),
        event: 'disconnected',
        time: Date.now(),
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, id: entry.id }, 'disconnect notice not published');
    }
  }
}

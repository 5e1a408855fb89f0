import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { BroadcastEvent } from '@switchboard/protocol';
import type { EventLog } from '@switchboard/testkit';
import type { Bus } from '../../src/bus/bus.js';
import type { SessionInfo, SessionRegistry } from '../../src/sessions/session-registry.js';

/** A registry made for one test (started), with the bus it announces on and that bus's events. */
export interface RegistryUnderTest {
  readonly sessions: SessionRegistry;
  /** The node `sessions` belongs to (the holder it names for its own connections). */
  readonly nodeId: string;
  readonly bus: Bus;
  readonly events: EventLog<BroadcastEvent>;
  /**
   * Another node's registry on the same store, when the store has more than one
   * node: `live` is what it reports as its own sessions.
   */
  readonly node?: (live: () => Iterable<SessionInfo>) => Promise<RegistryUnderTest & { kill(): Promise<void> }>;
}

export interface RegistryFactory {
  make(): Promise<RegistryUnderTest>;
  cleanup(): Promise<void>;
}

const WAIT_MS = 15_000;
/** The grace window of v2 sessions in these tests, in ms: short, so expiry happens within a test. */
export const CONTRACT_GRACE_MS = 300;

let counter = 0;
const session = (graceMs = CONTRACT_GRACE_MS, nickname = 'ann'): SessionInfo => {
  const n = ++counter;
  return {
    token: `token-${n}-${Math.random().toString(36).slice(2)}`,
    id: `id-${n}`,
    nickname,
    conn: `conn-${n}-a`,
    graceMs,
    start: { epoch: 'e', seq: n },
  };
};

const disconnects = (events: EventLog<BroadcastEvent>, id: string) =>
  events.items.filter((e) => e.type === 'notification' && e.event === 'disconnected' && e.id === id);

/** Publish a marker and wait for it: every notice published before it has been delivered by then. */
async function barrier(bus: Bus, events: EventLog<BroadcastEvent>): Promise<void> {
  const text = `barrier ${Math.random()}`;
  await bus.publish({ type: 'message', id: 'barrier', nickname: 'barrier', message: text, time: 0 });
  await events.waitFor((e) => e.message === text, WAIT_MS, 'the barrier');
}

/**
 * The SessionRegistry contract, run against every registry: sessions are
 * created, resumed from any connection, detached and ended, and exactly one
 * `NICK has disconnected` is announced when a session ends.
 */
export function describeSessionContract(name: string, factory: () => RegistryFactory): void {
  describe(`SessionRegistry contract: ${name}`, () => {
    /** One test on a fresh registry, cleaned up whatever happens. */
    const test = (title: string, body: (c: RegistryUnderTest, t: TestContext) => Promise<unknown>): void => {
      void it(title, async (t) => {
        const f = factory();
        try {
          await body(await f.make(), t);
        } finally {
          await f.cleanup();
        }
      });
    };

    test('resumes a live session on another connection with its identity and start, naming the connection that held it', async ({
      sessions,
      nodeId,
    }) => {
      const s = session();
      await sessions.create(s);
      assert.deepEqual(await sessions.resume(s.token, 'conn-b'), {
        identity: { id: s.id, nickname: s.nickname },
        live: true,
        start: s.start,
        holder: { node: nodeId, conn: s.conn },
      });
      assert.deepEqual((await sessions.resume(s.token, 'conn-c'))?.live && (await sessions.resume(s.token, 'conn-d')), {
        identity: { id: s.id, nickname: s.nickname },
        live: true,
        start: s.start,
        holder: { node: nodeId, conn: 'conn-c' },
      });
      assert.equal(await sessions.resume('no-such-token', 'conn-e'), undefined);
    });

    test('names no holder when the session was detached', async ({ sessions }) => {
      const s = session(10_000);
      await sessions.create(s);
      await sessions.detach(s.token, s.conn);
      assert.deepEqual(await sessions.resume(s.token, 'conn-b'), {
        identity: { id: s.id, nickname: s.nickname },
        live: true,
        start: s.start,
      });
    });

    test('ends a session on leave and announces it once, with its latest nickname', async ({ sessions, bus, events }) => {
      const s = session();
      await sessions.create(s);
      await sessions.rename(s.token, { id: s.id, nickname: 'annie' });
      await sessions.end(s.token, s.conn, true);
      const notice = await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice');
      assert.equal(notice.message, 'annie has disconnected');
      assert.equal(notice.type === 'notification' && notice.event, 'disconnected');
      await sessions.end(s.token, s.conn, true);
      await barrier(bus, events);
      assert.equal(disconnects(events, s.id).length, 1);
    });

    test('ends a session unannounced when asked, and ignores a leave from a connection that no longer holds it', async ({
      sessions,
      bus,
      events,
    }) => {
      const quiet = session();
      await sessions.create(quiet);
      await sessions.end(quiet.token, quiet.conn, false);
      const moved = session();
      await sessions.create(moved);
      await sessions.resume(moved.token, 'conn-new');
      await sessions.end(moved.token, moved.conn, true);
      await sessions.detach(moved.token, moved.conn);
      await barrier(bus, events);
      assert.deepEqual(disconnects(events, quiet.id), []);
      assert.deepEqual(disconnects(events, moved.id), [], 'the old connection cannot end the session the new one holds');
      assert.equal((await sessions.resume(moved.token, 'conn-newer'))?.live, true);
    });

    test('keeps a detached session resumable within its grace, with no notice', async ({ sessions, bus, events }) => {
      const s = session(10_000);
      await sessions.create(s);
      await sessions.detach(s.token, s.conn);
      assert.equal((await sessions.resume(s.token, 'conn-b'))?.live, true);
      await barrier(bus, events);
      assert.deepEqual(disconnects(events, s.id), []);
    });

    test('ends a detached session when its grace passes, announced once; its token then gives its identity back once', async ({
      sessions,
      bus,
      events,
    }) => {
      const s = session();
      await sessions.create(s);
      await sessions.detach(s.token, s.conn);
      await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice after the grace window');
      assert.deepEqual(await sessions.resume(s.token, 'conn-late'), { identity: { id: s.id, nickname: s.nickname }, live: false });
      assert.equal(await sessions.resume(s.token, 'conn-later'), undefined, 'the identity is given back once');
      await barrier(bus, events);
      assert.equal(disconnects(events, s.id).length, 1);
    });

    test('keeps nothing of an ended seed-protocol session (no grace): its token is unknown', async ({ sessions, events }) => {
      const s = session(0);
      await sessions.create(s);
      await sessions.end(s.token, s.conn, true);
      await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice');
      assert.equal(await sessions.resume(s.token, 'conn-b'), undefined);
    });

    test('ends, once, the sessions of a node that died, after their grace', async ({ node, bus, events }, t) => {
      if (!node) {
        t.skip('one node only');
        return;
      }
      const held: SessionInfo[] = [];
      const doomed = await node(() => held);
      const seed = session(0);
      const modern = session(CONTRACT_GRACE_MS);
      for (const s of [seed, modern]) {
        await doomed.sessions.create(s);
        held.push(s);
      }
      const other = await node(() => []);
      await doomed.kill();
      await events.waitFor((e) => e.id === seed.id, WAIT_MS, 'the seed session ended');
      await events.waitFor((e) => e.id === modern.id, WAIT_MS, 'the v2 session ended after its grace');
      await barrier(bus, events);
      assert.equal(disconnects(events, seed.id).length, 1);
      assert.equal(disconnects(events, modern.id).length, 1);
      assert.equal((await other.sessions.resume(modern.token, 'conn-x'))?.live, false);
    });
  });
}

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { BroadcastEvent } from '@switchboard/protocol';
import { EventLog } from '@switchboard/testkit';
import type { Bus } from '../../src/bus/bus.js';
import type { PresenceLimits, SessionInfo, SessionRegistry } from '../../src/sessions/session-registry.js';

/** A registry made for one test (started), with the bus it announces on and that bus's events (of every room used here). */
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

/** What a test may set on its registry: presence bounds (see PresenceLimits; the factory's own are generous) and RESUME_LIVE_MS. */
export type ContractLimits = Partial<PresenceLimits> & { readonly resumeLiveMs?: number };

export interface RegistryFactory {
  /** A started registry, and a bus subscribed to the rooms `lobby`, `dev` and `crowd`. */
  make(limits?: ContractLimits): Promise<RegistryUnderTest>;
  cleanup(): Promise<void>;
}

/** The rooms the contract uses; the factory's bus hears them all. */
export const CONTRACT_ROOMS = ['lobby', 'dev', 'crowd'] as const;

const WAIT_MS = 15_000;
/** How often a factory's registries publish summaries, in ms (PRESENCE_SUMMARY_INTERVAL_MS). */
export const CONTRACT_SUMMARY_INTERVAL_MS = 100;
/** The grace window of v2 sessions in these tests, in ms: short, so expiry happens within a test. */
export const CONTRACT_GRACE_MS = 300;

let counter = 0;
const session = (graceMs = CONTRACT_GRACE_MS, nickname = `ann${++counter}`, room = 'lobby'): SessionInfo => {
  const n = ++counter;
  return {
    token: `token-${n}-${Math.random().toString(36).slice(2)}`,
    id: `id-${n}`,
    nickname,
    conn: `conn-${n}-a`,
    graceMs,
    start: { epoch: 'e', seq: n },
    room,
  };
};

const notices = (events: EventLog<BroadcastEvent>, id: string, event: string) =>
  events.items.filter((e) => e.type === 'notification' && e.event === event && e.id === id);

/** Publish a marker in each room and wait for it: every notice published before it has been delivered by then. */
async function barrier(bus: Bus, events: EventLog<BroadcastEvent>): Promise<void> {
  for (const room of CONTRACT_ROOMS) {
    const text = `barrier ${Math.random()}`;
    await bus.publish({ type: 'message', room, id: 'barrier', nickname: 'barrier', message: text, time: 0 });
    await events.waitFor((e) => e.message === text, WAIT_MS, `the barrier in ${room}`);
  }
}

/** Create a session, publishing what its creation announces (as the hub does once the client has its welcome). */
async function created(sessions: SessionRegistry, s: SessionInfo, announce = true): Promise<void> {
  const result = await sessions.create(s, announce);
  assert.ok(result.ok, `session ${s.nickname} created`);
  await sessions.announce(result.notices);
}

/**
 * The SessionRegistry contract, run against every registry: sessions are
 * created, resumed from any connection, moved between rooms, detached and
 * ended; presence and nicknames follow them; and exactly one notice is
 * published for each coming and going.
 */
export function describeSessionContract(name: string, factory: () => RegistryFactory): void {
  describe(`SessionRegistry contract: ${name}`, () => {
    /** One test on a fresh registry, cleaned up whatever happens. */
    const test = (title: string, body: (c: RegistryUnderTest, t: TestContext) => Promise<unknown>, limits?: ContractLimits): void => {
      void it(title, async (t) => {
        const f = factory();
        try {
          await body(await f.make(limits), t);
        } finally {
          await f.cleanup();
        }
      });
    };

    test('resumes a live session on another connection with its identity, start and room, naming the connection that held it', async ({
      sessions,
      nodeId,
    }) => {
      const s = session();
      await created(sessions, s);
      const identity = { id: s.id, nickname: s.nickname };
      assert.deepEqual(await sessions.resume(s.token, 'conn-b'), {
        identity,
        live: true,
        start: s.start,
        room: 'lobby',
        holder: { node: nodeId, conn: s.conn },
      });
      assert.deepEqual(await sessions.resume(s.token, 'conn-c'), {
        identity,
        live: true,
        start: s.start,
        room: 'lobby',
        holder: { node: nodeId, conn: 'conn-b' },
      });
      assert.equal(await sessions.resume('no-such-token', 'conn-e'), undefined);
    });

    test("resumes a user's session only for the same user: another user's, or none, finds it unknown and changes nothing", async ({
      sessions,
    }) => {
      const s = { ...session(10_000), user: 'ada' };
      await created(sessions, s);
      assert.equal(await sessions.resume(s.token, 'conn-mallory', 'mallory'), undefined);
      assert.equal(await sessions.resume(s.token, 'conn-anonymous'), undefined);
      // Still held by its own connection: the refused resumes moved nothing.
      const resumed = await sessions.resume(s.token, 'conn-ada', 'ada');
      assert.ok(resumed?.live);
      assert.deepEqual(resumed.holder?.conn, s.conn);
      // Once ended, its identity is given back to the same user only.
      await sessions.end(s.token, 'conn-ada', false);
      assert.equal(await sessions.resume(s.token, 'conn-mallory', 'mallory'), undefined);
      const ended = await sessions.resume(s.token, 'conn-ada-2', 'ada');
      assert.ok(ended && !ended.live);
      assert.deepEqual(ended.identity, { id: s.id, nickname: s.nickname });
    });

    test("shares a user's name between its sessions, keeps it from others until the last one ends", async ({ sessions }) => {
      const tab1 = { ...session(0, 'Ada'), user: 'ada' };
      const tab2 = { ...session(0, 'ada'), user: 'ada' };
      const other = { ...session(0, 'ADA'), user: 'mallory' };
      await created(sessions, tab1);
      assert.ok((await sessions.create(tab2, false)).ok, 'the same user takes its own name again');
      assert.deepEqual(await sessions.create(other, false), { ok: false, reason: 'nick-taken' });
      assert.deepEqual(await sessions.create({ ...session(0, 'Ada') }, false), { ok: false, reason: 'nick-taken' });
      await sessions.end(tab1.token, tab1.conn, false);
      assert.deepEqual(await sessions.create(other, false), { ok: false, reason: 'nick-taken' }, 'still held by the second tab');
      await sessions.end(tab2.token, tab2.conn, false);
      assert.ok((await sessions.create(other, false)).ok, 'free once the last of its sessions ended');
    });

    test('names no holder when the session was detached', async ({ sessions }) => {
      const s = session(10_000);
      await created(sessions, s);
      await sessions.detach(s.token, s.conn);
      assert.deepEqual(await sessions.resume(s.token, 'conn-b'), {
        identity: { id: s.id, nickname: s.nickname },
        live: true,
        start: s.start,
        room: 'lobby',
      });
    });

    test('announces a new session once, in its room, when asked', async ({ sessions, bus, events }) => {
      const loud = session();
      const quiet = session();
      await created(sessions, loud);
      await created(sessions, quiet, false);
      const notice = await events.waitFor((e) => e.id === loud.id, WAIT_MS, 'the connect notice');
      assert.equal(notice.message, `${loud.nickname} has connected`);
      assert.equal(notice.room, 'lobby');
      assert.equal(notice.ref, undefined, 'a notice carries no ref');
      assert.ok(!JSON.stringify(events.items).includes(loud.token), 'no notice reveals a session token');
      await barrier(bus, events);
      assert.equal(notices(events, loud.id, 'connected').length, 1);
      assert.deepEqual(notices(events, quiet.id, 'connected'), []);
    });

    test('ends a session on leave and announces it once, with its latest nickname, in its room', async ({ sessions, bus, events }) => {
      const s = session();
      await created(sessions, s, false);
      assert.equal(await sessions.rename(s.token, { id: s.id, nickname: 'annie' }), 'ok');
      await sessions.end(s.token, s.conn, true);
      const notice = await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice');
      assert.equal(notice.message, 'annie has disconnected');
      assert.equal(notice.type === 'notification' && notice.event, 'disconnected');
      await sessions.end(s.token, s.conn, true);
      await barrier(bus, events);
      assert.equal(notices(events, s.id, 'disconnected').length, 1);
    });

    test('ends a session unannounced when asked, and ignores a leave from a connection that no longer holds it', async ({
      sessions,
      bus,
      events,
    }) => {
      const quiet = session();
      await created(sessions, quiet, false);
      await sessions.end(quiet.token, quiet.conn, false);
      const moved = session();
      await created(sessions, moved, false);
      await sessions.resume(moved.token, 'conn-new');
      await sessions.end(moved.token, moved.conn, true);
      await sessions.detach(moved.token, moved.conn);
      await barrier(bus, events);
      assert.deepEqual(notices(events, quiet.id, 'disconnected'), []);
      assert.deepEqual(notices(events, moved.id, 'disconnected'), [], 'the old connection cannot end the session the new one holds');
      assert.equal((await sessions.resume(moved.token, 'conn-newer'))?.live, true);
    });

    test('keeps a detached session resumable within its grace, with no notice', async ({ sessions, bus, events }) => {
      const s = session(10_000);
      await created(sessions, s, false);
      await sessions.detach(s.token, s.conn);
      assert.equal((await sessions.resume(s.token, 'conn-b'))?.live, true);
      await barrier(bus, events);
      assert.deepEqual(notices(events, s.id, 'disconnected'), []);
    });

    test('ends a detached session when its grace passes, announced once; its token then gives its identity back once', async ({
      sessions,
      bus,
      events,
    }) => {
      const s = session();
      await created(sessions, s, false);
      await sessions.detach(s.token, s.conn);
      await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice after the grace window');
      const ended = await sessions.resume(s.token, 'conn-late');
      assert.ok(ended && !ended.live, 'ended');
      assert.deepEqual(ended, { identity: { id: s.id, nickname: s.nickname }, live: false, liveAt: ended.liveAt });
      assert.equal(typeof ended.liveAt, 'number');
      assert.equal(await sessions.resume(s.token, 'conn-later'), undefined, 'the identity is given back once');
      await barrier(bus, events);
      assert.equal(notices(events, s.id, 'disconnected').length, 1);
    });

    test('keeps nothing of an ended seed-protocol session (no grace): its token is unknown', async ({ sessions, events }) => {
      const s = session(0);
      await created(sessions, s, false);
      await sessions.end(s.token, s.conn, true);
      await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice');
      assert.equal(await sessions.resume(s.token, 'conn-b'), undefined);
    });

    test('keeps nicknames unique, whatever their case, and frees a name when its session ends', async ({ sessions }) => {
      const ada = session(0, 'Ada');
      await created(sessions, ada, false);
      assert.deepEqual(await sessions.create(session(0, 'ADA'), false), { ok: false, reason: 'nick-taken' });
      const bob = session(0, 'bob');
      await created(sessions, bob, false);
      assert.equal(await sessions.rename(bob.token, { id: bob.id, nickname: 'ada' }), 'nick-taken');
      assert.equal(await sessions.rename(ada.token, { id: ada.id, nickname: 'ADA' }), 'ok', "one may change the case of one's own name");
      assert.equal(await sessions.rename(ada.token, { id: ada.id, nickname: 'countess' }), 'ok');
      assert.equal(await sessions.rename(bob.token, { id: bob.id, nickname: 'Ada' }), 'ok', 'a name given up is free');
      await sessions.end(bob.token, bob.conn, false);
      await created(sessions, session(0, 'ada'), false);
    });

    test('keeps look-alike names apart: a name is taken while one that looks the same is held, and free when it is not', async ({
      sessions,
    }) => {
      const alice = session(0, 'alice');
      await created(sessions, alice, false);
      const bob = session(0, 'bob');
      await created(sessions, bob, false);
      // Cyrillic а, fullwidth, mathematical bold, the digit 1, a capital I, Greek capital Alpha.
      for (const name of ['\u0430lice', '\uff41\uff4c\uff49\uff43\uff45', '\u{1d41a}lice', 'a1ice', 'aIice', '\u0391LICE']) {
        assert.deepEqual(await sessions.create(session(0, name), false), { ok: false, reason: 'nick-taken' }, JSON.stringify(name));
        assert.equal(await sessions.rename(bob.token, { id: bob.id, nickname: name }), 'nick-taken', JSON.stringify(name));
      }
      assert.equal(
        await sessions.rename(alice.token, { id: alice.id, nickname: 'a1ice' }),
        'ok',
        "one may take a look-alike of one's own name",
      );
      assert.deepEqual(await sessions.create(session(0, 'alice'), false), { ok: false, reason: 'nick-taken' }, 'which holds alice still');
      await sessions.end(alice.token, alice.conn, false);
      assert.equal(await sessions.rename(bob.token, { id: bob.id, nickname: '\u0430lice' }), 'ok', 'free once its holder is gone');
      assert.deepEqual(await sessions.create(session(0, 'Alice'), false), { ok: false, reason: 'nick-taken' });
      assert.equal(await sessions.rename(bob.token, { id: bob.id, nickname: 'bob' }), 'ok');
      await created(sessions, session(0, 'ALICE'), false);
      // Distinct names stay distinct, in any script.
      for (const name of [
        'Jos\u00e9',
        'Jose',
        '\u0410\u043b\u0435\u043a\u0441\u0435\u0439',
        '\u674e\u5c0f\u9f8d',
        '\u0645\u062d\u0645\u062f',
        '\u2764\ufe0f',
      ]) {
        await created(sessions, session(0, name), false);
      }
    });

    test('moves a session between rooms: presence follows, and each room hears it leave or arrive, once', async ({
      sessions,
      bus,
      events,
    }) => {
      const s = session(0, 'mover');
      const stay = session(0, 'stayer');
      await created(sessions, s, false);
      await created(sessions, stay, false);
      const moved = await sessions.join(s.token, s.conn, 'dev');
      assert.ok(moved.ok);
      assert.equal(moved.from, 'lobby');
      await sessions.announce(moved.notices);
      await sessions.announce(moved.notices); // announcing twice publishes once
      const left = await events.waitFor((e) => e.id === s.id && e.type === 'notification' && e.event === 'left', WAIT_MS, 'the leave');
      const joined = await events.waitFor(
        (e) => e.id === s.id && e.type === 'notification' && e.event === 'joined',
        WAIT_MS,
        'the arrival',
      );
      assert.deepEqual([left.room, left.message], ['lobby', 'mover has left']);
      assert.deepEqual([joined.room, joined.message], ['dev', 'mover has joined']);
      assert.deepEqual(await sessions.members('dev', 10), { members: [{ id: s.id, nickname: 'mover' }], count: 1 });
      assert.deepEqual(await sessions.members('lobby', 10), { members: [{ id: stay.id, nickname: 'stayer' }], count: 1 });
      assert.deepEqual(
        [...(await sessions.rooms(10))].sort((a, b) => a.room.localeCompare(b.room)),
        [
          { room: 'dev', count: 1 },
          { room: 'lobby', count: 1 },
        ],
      );
      assert.deepEqual(await sessions.join(s.token, s.conn, 'dev'), { ok: false, reason: 'same-room' });
      assert.deepEqual(await sessions.join(s.token, 'not-the-holder', 'lobby'), { ok: false, reason: 'not-held' });
      await sessions.end(s.token, s.conn, true);
      const gone = await events.waitFor(
        (e) => e.id === s.id && e.type === 'notification' && e.event === 'disconnected',
        WAIT_MS,
        'the disconnect',
      );
      assert.equal(gone.room, 'dev', 'a session ends in the room it is in');
      assert.deepEqual(await sessions.members('dev', 10), { members: [], count: 0 });
      assert.deepEqual(await sessions.rooms(10), [{ room: 'lobby', count: 1 }]);
      await barrier(bus, events);
      for (const event of ['left', 'joined', 'disconnected']) assert.equal(notices(events, s.id, event).length, 1, event);
    });

    test('lists at most the members asked for, with how many there are; renames show in the list', async ({ sessions }) => {
      const people = [session(0, 'p1'), session(0, 'p2'), session(0, 'p3')];
      for (const p of people) await created(sessions, p, false);
      const some = await sessions.members('lobby', 2);
      assert.equal(some.count, 3);
      assert.equal(some.members.length, 2);
      await sessions.rename(people[0]!.token, { id: people[0]!.id, nickname: 'renamed' });
      const all = await sessions.members('lobby', 10);
      assert.deepEqual(all.members.map((m) => m.nickname).sort(), ['p2', 'p3', 'renamed']);
    });

    test(
      'refuses a new room past MAX_ROOMS, but never the lobby',
      async ({ sessions }) => {
        const a = session(0, 'a');
        const b = session(0, 'b');
        await created(sessions, a, false);
        await created(sessions, b, false);
        const moved = await sessions.join(a.token, a.conn, 'dev');
        assert.ok(moved.ok, 'a second room is allowed');
        assert.deepEqual(await sessions.join(b.token, b.conn, 'crowd'), { ok: false, reason: 'room-limit' });
        assert.ok((await sessions.join(b.token, b.conn, 'dev')).ok, 'a room with people is always allowed');
        await created(sessions, session(0, 'c'), false);
      },
      { maxRooms: 2 },
    );

    test(
      'sums up the comings and goings of a room past PRESENCE_NOTICE_LIMIT instead of announcing each',
      async ({ sessions, events }) => {
        const crowd = [session(0, 'c1'), session(0, 'c2'), session(0, 'c3'), session(0, 'c4')];
        for (const c of crowd) await created(sessions, c, false);
        for (const c of crowd) {
          const moved = await sessions.join(c.token, c.conn, 'crowd');
          assert.ok(moved.ok);
          await sessions.announce(moved.notices);
        }
        await sessions.end(crowd[3]!.token, crowd[3]!.conn, true);
        // Two came in one by one (at or under the limit of 2); the third and fourth are summed, as is the fourth's leave
        // (in one summary or more, as the summaries' ticks fall).
        const sums = () => {
          const summaries = events.items.filter((e) => e.room === 'crowd' && e.type === 'notification' && e.event === 'summary');
          const total = (field: 'joined' | 'left') => summaries.reduce((n, e) => n + ((e.type === 'notification' && e[field]) || 0), 0);
          return [total('joined'), total('left')];
        };
        await events.waitFor(() => sums()[0] === 2 && sums()[1] === 1, WAIT_MS, 'summaries of 2 joins and 1 leave');
        const each = events.items.filter((e) => e.room === 'crowd' && e.type === 'notification' && e.event === 'joined');
        assert.deepEqual(
          each.map((e) => e.nickname),
          ['c1', 'c2'],
        );
        assert.deepEqual(notices(events, crowd[3]!.id, 'disconnected'), [], 'no notice of its own');
      },
      { presenceNoticeLimit: 2 },
    );

    test(
      'holds a dropped session until one grace after its last live connection: short connections do not restart the clock',
      async ({ sessions }) => {
        const created_ = Date.now();
        const s = session(10_000);
        await created(sessions, s, false);
        const first = await sessions.detach(s.token, s.conn);
        assert.ok(typeof first === 'object', 'detached');
        assert.ok(first.until >= created_ + 10_000 && first.until <= Date.now() + 10_000, 'a new session counts from its start');
        // Connections that hold it for less than RESUME_LIVE_MS (here: all of them): a hello and a drop, a takeover.
        assert.equal((await sessions.resume(s.token, 'conn-b'))?.live, true);
        assert.deepEqual(await sessions.detach(s.token, 'conn-b'), first, 'a resume and a drop do not restart it');
        await sessions.resume(s.token, 'conn-c');
        await sessions.resume(s.token, 'conn-d');
        assert.deepEqual(await sessions.detach(s.token, 'conn-d'), first, 'nor does taking it over');
        assert.equal(await sessions.detach(s.token, 'conn-d'), 'not-held', 'a second detach finds it waiting already');
      },
      { resumeLiveMs: 60_000 },
    );

    test(
      "gives a full grace after a live connection's drop",
      async ({ sessions }) => {
        const s = session(10_000);
        await created(sessions, s, false);
        await sessions.detach(s.token, s.conn);
        await sessions.resume(s.token, 'conn-b');
        const dropped = Date.now();
        const again = await sessions.detach(s.token, 'conn-b');
        assert.ok(typeof again === 'object' && again.until >= dropped + 10_000, 'a full grace from this drop');
      },
      { resumeLiveMs: 0 },
    );

    test(
      'gives an identity back with its clock: a session started with it waits no longer than the old one would have',
      async ({ sessions, events }) => {
        const grace = 1_000;
        const s = session(grace);
        const began = Date.now();
        await created(sessions, s, false);
        await sessions.detach(s.token, s.conn);
        await events.waitFor((e) => e.id === s.id, WAIT_MS, 'the disconnect notice after the grace window');
        const ended = await sessions.resume(s.token, 'conn-late');
        assert.ok(ended?.live === false);
        assert.ok(ended.liveAt >= began && ended.liveAt <= began + grace, 'the clock of the session that ended');
        const again = { ...session(grace), id: s.id, nickname: s.nickname, liveAt: ended.liveAt };
        await created(sessions, again, false);
        assert.deepEqual(await sessions.detach(again.token, again.conn), { until: ended.liveAt + grace });
        await events.waitFor(() => notices(events, s.id, 'disconnected').length === 2, WAIT_MS, 'the new session ended too, its wait over');
      },
      { resumeLiveMs: 60_000 },
    );

    test('ends a waiting session on expire() as a grace that ran out, only while the drop it names left it waiting', async ({
      sessions,
      bus,
      events,
    }) => {
      const waiting = session(10_000, 'waiting');
      await created(sessions, waiting, false);
      await sessions.detach(waiting.token, waiting.conn);
      await sessions.expire(waiting.token, 'another-conn');
      await sessions.expire(waiting.token, waiting.conn);
      await sessions.expire(waiting.token, waiting.conn);
      const notice = await events.waitFor((e) => e.id === waiting.id, WAIT_MS, 'the disconnect notice');
      assert.equal(notice.message, 'waiting has disconnected');
      await created(sessions, session(0, 'Waiting'), false);
      assert.deepEqual((await sessions.resume(waiting.token, 'conn-back'))?.live, false, 'its identity is given back, as after its grace');

      const resumed = session(10_000);
      await created(sessions, resumed, false);
      await sessions.detach(resumed.token, resumed.conn);
      await sessions.resume(resumed.token, 'conn-b');
      await sessions.expire(resumed.token, resumed.conn);
      const connected = session(10_000);
      await created(sessions, connected, false);
      await sessions.expire(connected.token, connected.conn);
      await barrier(bus, events);
      assert.equal(notices(events, waiting.id, 'disconnected').length, 1);
      assert.deepEqual(notices(events, resumed.id, 'disconnected'), [], 'resumed since it dropped: not ended');
      assert.deepEqual(notices(events, connected.id, 'disconnected'), [], 'never dropped: not ended');
      assert.equal((await sessions.resume(resumed.token, 'conn-c'))?.live, true);
      assert.equal((await sessions.resume(connected.token, 'conn-c'))?.live, true);
    });

    test('tells the node where a session dropped when another node resumes it', async ({ sessions, node }, t) => {
      if (!node) {
        t.skip('one node only');
        return;
      }
      const told = new EventLog<string>();
      sessions.onResumedElsewhere((token) => told.push(token));
      const other = await node(() => []);
      const here = session(10_000);
      const away = session(10_000);
      for (const s of [here, away]) {
        await created(sessions, s, false);
        await sessions.detach(s.token, s.conn);
      }
      await sessions.resume(here.token, 'conn-here');
      await other.sessions.resume(away.token, 'conn-away');
      assert.equal(await told.waitFor(() => true, WAIT_MS, 'the resume elsewhere'), away.token);
      await sessions.detach(here.token, 'conn-here');
      await other.sessions.resume(here.token, 'conn-there');
      await told.waitFor((token) => token === here.token, WAIT_MS, 'the second resume elsewhere');
      assert.deepEqual(told.items, [away.token, here.token], 'a resume where it dropped is not told');
    });

    test(
      "sums up the moves past a room's budget of joined and left notices: each move announced or counted, once",
      async ({ sessions, events, bus }) => {
        // Someone stays in each room (a room nobody is in spends no budget), and one flaps between them.
        const flapper = session(0, 'flap');
        for (const s of [session(0, 'sd', 'dev'), session(0, 'sc', 'crowd'), flapper]) await created(sessions, s, false);
        const startedAt = performance.now();
        const rooms = ['dev', 'crowd', 'dev', 'crowd', 'dev', 'crowd', 'dev', 'crowd'];
        for (const room of rooms) {
          const moved = await sessions.join(flapper.token, flapper.conn, room);
          assert.ok(moved.ok, `moved to ${room}`);
          await sessions.announce(moved.notices);
        }
        const elapsedS = (performance.now() - startedAt) / 1000;
        await barrier(bus, events);
        const told = (room: string, event: 'joined' | 'left') =>
          events.items.filter((e) => e.room === room && e.type === 'notification' && e.event === event && e.id === flapper.id).length;
        const summed = (room: string, field: 'joined' | 'left') =>
          events.items
            .filter((e) => e.room === room && e.type === 'notification' && e.event === 'summary')
            .reduce((n, e) => n + ((e.type === 'notification' && e[field]) || 0), 0);
        // dev: 4 joins, 4 leaves; crowd: 4 joins, 3 leaves. Each is announced, or counted in a summary; never both, never lost.
        const expected = { dev: { joined: 4, left: 4 }, crowd: { joined: 4, left: 3 } };
        await events.waitFor(
          () =>
            (['dev', 'crowd'] as const).every((room) =>
              (['joined', 'left'] as const).every((k) => told(room, k) + summed(room, k) === expected[room][k]),
            ),
          WAIT_MS,
          'every move announced or summed up, once',
        );
        for (const room of ['dev', 'crowd'] as const) {
          const announced = told(room, 'joined') + told(room, 'left');
          // A burst of 2, then 1 a second: at most 2 + what the time taken refilled.
          assert.ok(announced >= 2, `#${room}: the burst is announced (${announced})`);
          assert.ok(announced <= 2 + Math.ceil(elapsedS), `#${room}: ${announced} announced in ${elapsedS.toFixed(2)} s`);
        }
        assert.equal(told('lobby', 'left'), 1, 'leaving a room for good (nobody left to hear it) spends no budget');
      },
      { joinNoticeRatePerSec: 1, joinNoticeBurst: 2 },
    );

    test(
      'publishes one summary per room per interval, however many nodes sweep',
      async ({ sessions, node, events }, t) => {
        if (!node) {
          t.skip('one node only');
          return;
        }
        await node(() => []);
        await node(() => []);
        const flapper = session(0, 'flap');
        await created(sessions, flapper, false);
        for (const s of [session(0, 'sd', 'dev'), session(0, 'sc', 'crowd')]) await created(sessions, s, false);
        // Every move is summed up (the limit is 0), for a while, as fast as the store takes them.
        const from = Date.now();
        let moves = 0;
        while (Date.now() - from < 1_500) {
          const moved = await sessions.join(flapper.token, flapper.conn, moves % 2 === 0 ? 'dev' : 'crowd');
          assert.ok(moved.ok && moved.notices.length === 0);
          moves++;
        }
        const until = Date.now();
        const summaries = () => events.items.filter((e) => e.room === 'dev' && e.type === 'notification' && e.event === 'summary');
        const sum = () => summaries().reduce((n, e) => n + ((e.type === 'notification' && (e.joined ?? 0) + (e.left ?? 0)) || 0), 0);
        // Every move goes into #dev (even ones, the first from the lobby) or out of it (odd ones).
        await events.waitFor(() => sum() === moves, WAIT_MS, `all ${moves} moves summed up in #dev`);
        const during = summaries().filter((e) => e.time >= from && e.time <= until).length;
        const most = Math.floor((until - from) / CONTRACT_SUMMARY_INTERVAL_MS) + 2;
        assert.ok(during <= most, `${during} summaries in ${until - from} ms from three nodes: at most ${most}`);
      },
      { presenceNoticeLimit: 0 },
    );

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
        await created(doomed.sessions, s, false);
        held.push(s);
      }
      const other = await node(() => []);
      await doomed.kill();
      await events.waitFor((e) => e.id === seed.id, WAIT_MS, 'the seed session ended');
      await events.waitFor((e) => e.id === modern.id, WAIT_MS, 'the v2 session ended after its grace');
      await barrier(bus, events);
      assert.equal(notices(events, seed.id, 'disconnected').length, 1);
      assert.equal(notices(events, modern.id, 'disconnected').length, 1);
      assert.equal((await other.sessions.resume(modern.token, 'conn-x'))?.live, false);
      assert.deepEqual(await other.sessions.members('lobby', 10), { members: [], count: 0 }, 'they left the member list too');
    });
  });
}

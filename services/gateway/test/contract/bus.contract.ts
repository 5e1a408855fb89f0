import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { withRef, type BroadcastEvent, type EventDraft, type RoomName } from '@switchboard/protocol';
import { EventLog, eventually } from '@switchboard/testkit';
import { BusUnavailableError, type Bus, type BusLimits, type PublishResult } from '../../src/bus/bus.js';

/** A bus made for one test, started, with every event it delivers recorded. */
export interface BusUnderTest {
  readonly bus: Bus;
  readonly events: EventLog<BroadcastEvent>;
  /** Whether the medium still holds anything of `room` (its keys, its log), looked at from outside: asking is not a use. */
  readonly keeps: (room: RoomName) => Promise<boolean>;
  /** Another bus on the same medium (another node), when the medium has more than one node. */
  readonly peer?: () => Promise<BusUnderTest>;
}

export interface BusFactory {
  /** Make a started, ready bus, subscribed to ROOM. `now` is the clock that dates events. */
  make(limits: BusLimits, now: () => number): Promise<BusUnderTest>;
  /** Release everything made. */
  cleanup(): Promise<void>;
}

const WAIT_MS = 10_000;
const LIMITS: BusLimits = {
  historyMaxEvents: 100,
  historyMaxAgeMs: 60_000,
  historyMaxBytes: 1_000_000,
  refsPerClient: 100,
  historyOnJoin: 3,
};
/** The room most tests publish in; every bus made here is subscribed to it. */
export const ROOM = 'lobby';

export const line = (message: string, ref?: string, id = 'client-1', room = ROOM): EventDraft => ({
  type: 'message',
  room,
  id,
  nickname: 'ann',
  message,
  time: 0,
  ...withRef(ref),
});

/** A presence notice in `room`, as the registry publishes them (with a `once` key). */
const joinedNotice = (room: RoomName): EventDraft => ({
  type: 'notification',
  room,
  id: 'ann',
  nickname: 'ann',
  message: 'ann has joined',
  event: 'joined',
  time: 0,
});

/**
 * Short room lifetimes for the tests of forgetting, in ms: real time on Redis (its
 * keys' TTLs), the test's clock on MemoryBus (moved by as much). A node renews the
 * rooms it serves every quarter of ROOM_TTL: a stall of the test machine shorter than
 * three quarters of it cannot make a served room expire.
 */
const ROOM_TTL = 1_000;
const ROOM_HISTORY_TTL = 2_500;
const LIFETIMES: Partial<BusLimits> = { roomTtlMs: ROOM_TTL, roomHistoryTtlMs: ROOM_HISTORY_TTL };
/** How long a room may take to go once its lifetime has passed (Redis expires keys within about 100 ms of their TTL). */
const FORGET_WAIT_MS = 10_000;

/**
 * The Bus contract: the sentences every bus must make true, whatever carries it.
 * MemoryBus is the reference; RedisBus must agree (the same suite runs on both).
 */
export function describeBusContract(name: string, factory: () => BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    type Case = BusUnderTest & { readonly clock: { now: number } };
    /** One test on a fresh bus (with `limits` over the defaults), cleaned up whatever happens. */
    const test = (title: string, body: (c: Case, t: TestContext) => Promise<unknown>, limits: Partial<BusLimits> = {}): void => {
      void it(title, async (t) => {
        const clock = { now: 1_000_000 };
        const f = factory();
        try {
          await body({ ...(await f.make({ ...LIMITS, ...limits }, () => clock.now)), clock }, t);
        } finally {
          await f.cleanup();
        }
      });
    };

    test('numbers events 1, 2, 3 within one epoch and delivers each, in that order', async ({ bus, events }) => {
      const results: PublishResult[] = [];
      for (const m of ['a', 'b', 'c']) results.push(await bus.publish(line(m)));
      assert.deepEqual(
        results.map((r) => [r.seq, r.duplicate]),
        [
          [1, false],
          [2, false],
          [3, false],
        ],
      );
      await events.waitFor((e) => e.message === 'c', WAIT_MS, 'event c');
      assert.deepEqual(
        events.items.map((e) => [e.seq, e.message]),
        [
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ],
      );
      assert.ok(events.items.every((e) => e.epoch === results[0]!.epoch));
      assert.deepEqual(await bus.head(ROOM), { epoch: results[0]!.epoch, seq: 3 });
    });

    test('delivers every event to every node on the medium, each node its own and the others', async ({ bus, events, peer }, t) => {
      if (!peer) {
        t.skip('one node only');
        return;
      }
      const other = await peer();
      await bus.publish(line('from one'));
      await other.bus.publish(line('from two'));
      for (const log of [events, other.events]) {
        await log.waitFor((e) => e.message === 'from two', WAIT_MS, 'the second event');
        assert.deepEqual(
          log.items.map((e) => [e.seq, e.message]),
          [
            [1, 'from one'],
            [2, 'from two'],
          ],
        );
      }
    });

    test('reads nothing while its reading is paused, then every event that came meanwhile, in order, once resumed', async ({
      bus,
      events,
      peer,
    }, t) => {
      if (!peer || !bus.reads) {
        t.skip('a bus with connections of its own and another node on the medium');
        return;
      }
      const other = await peer();
      bus.reads.pause();
      try {
        await other.bus.publish(line('paused 1'));
        await other.bus.publish(line('paused 2'));
        await other.events.waitFor((e) => e.message === 'paused 2', WAIT_MS, 'the other node to get its own event');
        // One more round trip: the server has written the events to every subscriber by the time it answers.
        await other.bus.head(ROOM);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(events.items.length, 0, 'nothing read while paused');
      } finally {
        bus.reads.resume();
      }
      await events.waitFor((e) => e.message === 'paused 2', WAIT_MS, 'the paused events');
      assert.deepEqual(
        events.items.map((e) => [e.seq, e.message]),
        [
          [1, 'paused 1'],
          [2, 'paused 2'],
        ],
      );
    });

    test('gives every event after a position from its history, in order; none at the head', async ({ bus }) => {
      for (const m of ['a', 'b', 'c', 'd']) await bus.publish(line(m));
      const { epoch } = await bus.head(ROOM);
      const after = await bus.history(ROOM, { epoch, seq: 2 });
      assert.ok(after.ok);
      assert.deepEqual(
        after.events.map((e) => [e.seq, e.message]),
        [
          [3, 'c'],
          [4, 'd'],
        ],
      );
      assert.deepEqual(after.head, { epoch, seq: 4 });
      assert.deepEqual(await bus.history(ROOM, { epoch, seq: 4 }), {
        ok: true,
        head: { epoch, seq: 4 },
        since: { epoch, seq: 4 },
        events: [],
      });
    });

    test('refuses a history from another epoch, from past the head, or longer than asked for, saying why', async ({ bus }) => {
      for (const m of ['a', 'b', 'c', 'd']) await bus.publish(line(m));
      const head = await bus.head(ROOM);
      assert.deepEqual(await bus.history(ROOM, { epoch: 'another', seq: 2 }), { ok: false, head, reason: 'epoch changed' });
      assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 9 }), {
        ok: false,
        head,
        reason: 'position is ahead of the history',
      });
      assert.equal((await bus.history(ROOM, { epoch: head.epoch, seq: 1 }, { maxEvents: 3 })).ok, true);
      assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 0 }, { maxEvents: 3 }), {
        ok: false,
        head,
        reason: 'too far behind',
      });
    });

    test(
      'trims its history to HISTORY_MAX_EVENTS: a position before the kept events is refused as trimmed',
      async ({ bus }) => {
        for (const m of ['a', 'b', 'c', 'd', 'e']) await bus.publish(line(m));
        const head = await bus.head(ROOM);
        const kept = await bus.history(ROOM, { epoch: head.epoch, seq: 2 });
        assert.ok(kept.ok);
        assert.deepEqual(
          kept.events.map((e) => e.message),
          ['c', 'd', 'e'],
        );
        assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 1 }), { ok: false, head, reason: 'history trimmed' });
      },
      { historyMaxEvents: 3 },
    );

    test(
      'trims events older than HISTORY_MAX_AGE_MS, also when nothing new is published',
      async ({ bus, clock }) => {
        for (const m of ['a', 'b']) await bus.publish(line(m));
        clock.now += 600;
        await bus.publish(line('c'));
        const head = await bus.head(ROOM);
        clock.now += 600; // a and b are older than a second now; c is not
        const kept = await bus.history(ROOM, { epoch: head.epoch, seq: 2 });
        assert.ok(kept.ok);
        assert.deepEqual(
          kept.events.map((e) => e.message),
          ['c'],
        );
        assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 1 }), { ok: false, head, reason: 'history trimmed' });
        clock.now += 1_000;
        assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 2 }), { ok: false, head, reason: 'history trimmed' });
      },
      { historyMaxAgeMs: 1_000 },
    );

    test('refuses a replay of more bytes than asked for; trims its history to HISTORY_MAX_BYTES', async ({ bus }) => {
      for (const m of ['a', 'b', 'c', 'd']) await bus.publish(line(m.repeat(100)));
      const head = await bus.head(ROOM);
      const all = await bus.history(ROOM, { epoch: head.epoch, seq: 0 });
      assert.ok(all.ok);
      const sizes = all.events.map((e) => Buffer.byteLength(JSON.stringify(e)));
      const two = sizes[2]! + sizes[3]!;
      assert.equal((await bus.history(ROOM, { epoch: head.epoch, seq: 2 }, { maxBytes: two + 20 })).ok, true);
      assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 1 }, { maxBytes: two + 20 }), {
        ok: false,
        head,
        reason: 'too far behind',
      });
    });

    test(
      'keeps no more bytes of events than HISTORY_MAX_BYTES, dropping the oldest',
      async ({ bus }) => {
        for (const m of ['a', 'b', 'c', 'd', 'e']) await bus.publish(line(m.repeat(200)));
        const head = await bus.head(ROOM);
        const kept = await bus.history(ROOM, { epoch: head.epoch, seq: 3 });
        assert.ok(kept.ok, 'the newest events are kept');
        assert.deepEqual(
          kept.events.map((e) => e.message[0]),
          ['d', 'e'],
        );
        assert.deepEqual(await bus.history(ROOM, { epoch: head.epoch, seq: 2 }), { ok: false, head, reason: 'history trimmed' });
      },
      { historyMaxBytes: 800 },
    );

    test(
      'reads its history a page at a time, however far behind',
      async ({ bus }) => {
        for (const m of ['a', 'b', 'c', 'd', 'e']) await bus.publish(line(m));
        const head = await bus.head(ROOM);
        const first = await bus.historyPage(ROOM, { epoch: head.epoch, seq: 0 }, 2);
        assert.ok(first.ok);
        assert.deepEqual(
          first.events.map((e) => e.seq),
          [1, 2],
        );
        const last = await bus.historyPage(ROOM, { epoch: head.epoch, seq: 4 }, 2);
        assert.ok(last.ok);
        assert.deepEqual(
          last.events.map((e) => e.seq),
          [5],
        );
        assert.deepEqual(await bus.historyPage(ROOM, { epoch: head.epoch, seq: 5 }, 2), { ok: true, head, since: head, events: [] });
        assert.deepEqual(await bus.historyPage(ROOM, { epoch: 'another', seq: 0 }, 2), { ok: false, head, reason: 'epoch changed' });
      },
      { historyMaxEvents: 100 },
    );

    test('publishes a ref once per client: a retry gets where the original landed; another client may use the same ref', async ({
      bus,
      events,
    }) => {
      const first = await bus.publish(line('once', 'r1'));
      const again = await bus.publish(line('once', 'r1'));
      assert.deepEqual(again, { ...first, duplicate: true });
      const other = await bus.publish(line('mine too', 'r1', 'client-2'));
      assert.equal(other.duplicate, false);
      await events.waitFor((e) => e.message === 'mine too', WAIT_MS, "the other client's line");
      assert.deepEqual(
        events.items.map((e) => e.message),
        ['once', 'mine too'],
      );
    });

    test('publishes an event with a `once` key at most once in its room, whoever publishes it, and broadcasts no ref for it', async ({
      bus,
      events,
    }) => {
      const notice = {
        type: 'notification',
        room: ROOM,
        id: 'ann',
        nickname: 'ann',
        message: 'ann has joined',
        event: 'joined',
        time: 0,
      } as const;
      const first = await bus.publish(notice, 'p:reg-1:joined:1');
      assert.deepEqual(await bus.publish(notice, 'p:reg-1:joined:1'), { ...first, duplicate: true });
      assert.equal((await bus.publish(line('mine', 'p:reg-1:joined:1', 'ann'))).duplicate, false, "a client's ref is another matter");
      await events.waitFor((e) => e.message === 'mine', WAIT_MS, 'the line');
      assert.deepEqual(
        events.items.map((e) => [e.message, e.ref]),
        [
          ['ann has joined', undefined],
          ['mine', 'p:reg-1:joined:1'],
        ],
      );
    });

    test(
      'remembers at most REFS_PER_CLIENT refs per client, forgetting the oldest first',
      async ({ bus }) => {
        for (const ref of ['r1', 'r2', 'r3', 'r4']) await bus.publish(line(ref, ref));
        assert.equal((await bus.publish(line('r4', 'r4'))).duplicate, true, 'a recent ref is remembered');
        assert.equal((await bus.publish(line('r2', 'r2'))).duplicate, true);
        assert.equal((await bus.publish(line('r1', 'r1'))).duplicate, false, 'the oldest ref was forgotten');
      },
      { refsPerClient: 3 },
    );

    test('starts a new epoch on renewEpoch(stale) keeping the history, relabelled, only once however many ask', async ({ bus }) => {
      for (const m of ['a', 'b', 'c']) await bus.publish(line(m, m));
      const stale = await bus.head(ROOM);
      const renewed = await bus.renewEpoch(ROOM, stale.epoch, 2);
      assert.notEqual(renewed.epoch, stale.epoch);
      assert.equal(renewed.seq, 3, 'the seq goes on: what survived keeps its numbers');
      assert.deepEqual(
        await bus.renewEpoch(ROOM, stale.epoch, 1),
        renewed,
        'a second node asking for the same renewal gets the same epoch',
      );
      const kept = await bus.history(ROOM, { epoch: renewed.epoch, seq: 0 });
      assert.ok(kept.ok, 'the history is kept');
      assert.deepEqual(
        kept.events.map((e) => [e.epoch, e.seq, e.message]),
        [
          [renewed.epoch, 1, 'a'],
          [renewed.epoch, 2, 'b'],
          [renewed.epoch, 3, 'c'],
        ],
        'relabelled with the new epoch',
      );
      assert.deepEqual(
        (await bus.recent(ROOM, 3)).lines.map((e) => [e.epoch, e.message]),
        [
          [renewed.epoch, 'a'],
          [renewed.epoch, 'b'],
          [renewed.epoch, 'c'],
        ],
      );
      // A reader in the stale epoch is answered from the new one, from no later than where they agree.
      const resumed = await bus.history(ROOM, { epoch: stale.epoch, seq: 3 });
      assert.ok(resumed.ok);
      assert.deepEqual(resumed.since, { epoch: renewed.epoch, seq: 2 });
      assert.deepEqual(
        resumed.events.map((e) => e.message),
        ['c'],
      );
      const page = await bus.historyPage(ROOM, { epoch: stale.epoch, seq: 1 }, 10);
      assert.ok(page.ok);
      assert.deepEqual([page.since, page.events.map((e) => e.seq)], [{ epoch: renewed.epoch, seq: 1 }, [2, 3]]);
      assert.deepEqual(await bus.history(ROOM, { epoch: 'another', seq: 0 }), { ok: false, head: renewed, reason: 'epoch changed' });
      const next = await bus.publish(line('new', 'd'));
      assert.deepEqual([next.epoch, next.seq, next.duplicate], [renewed.epoch, 4, false]);
      const again = await bus.publish(line('b', 'b'));
      assert.deepEqual([again.seq, again.duplicate], [2, true], 'a ref of a kept event is still known: not published twice');
      assert.deepEqual((await bus.publish(line('new', 'd'))).seq, 4);
    });

    test('renews again and again: a position in any kept epoch is found, refs of every kept epoch are known', async ({ bus }) => {
      await bus.publish(line('a', 'a'));
      const first = await bus.head(ROOM);
      const second = await bus.renewEpoch(ROOM, first.epoch);
      await bus.publish(line('b', 'b'));
      const third = await bus.renewEpoch(ROOM, second.epoch, 1);
      const from = await bus.history(ROOM, { epoch: first.epoch, seq: 1 });
      assert.ok(from.ok);
      assert.deepEqual([from.since, from.events.map((e) => [e.epoch, e.message])], [{ epoch: third.epoch, seq: 1 }, [[third.epoch, 'b']]]);
      assert.deepEqual([(await bus.publish(line('a', 'a'))).duplicate, (await bus.publish(line('b', 'b'))).duplicate], [true, true]);
    });

    test('keeps rooms apart: each its own sequence and history, and a node hears only the rooms it subscribes to', async ({
      bus,
      events,
    }) => {
      await bus.publish(line('in the lobby'));
      const dev = await bus.publish(line('in dev', undefined, 'client-1', 'dev'));
      assert.equal(dev.seq, 1, "dev's sequence is its own");
      assert.notEqual(dev.epoch, (await bus.head(ROOM)).epoch, 'and so is its epoch');
      await bus.subscribe('dev');
      assert.deepEqual([...bus.subscriptions()].sort(), ['dev', ROOM]);
      await bus.publish(line('heard in dev', undefined, 'client-1', 'dev'));
      await events.waitFor((e) => e.message === 'heard in dev', WAIT_MS, 'the dev line after subscribing');
      await bus.unsubscribe('dev');
      await bus.publish(line('not heard in dev', undefined, 'client-1', 'dev'));
      await bus.publish(line('lobby after'));
      await events.waitFor((e) => e.message === 'lobby after', WAIT_MS, 'the last lobby line');
      assert.deepEqual(
        events.items.map((e) => [e.room, e.seq, e.message]),
        [
          [ROOM, 1, 'in the lobby'],
          ['dev', 2, 'heard in dev'],
          [ROOM, 2, 'lobby after'],
        ],
      );
      const devHistory = await bus.history('dev', { epoch: dev.epoch, seq: 0 });
      assert.ok(devHistory.ok);
      assert.deepEqual(
        devHistory.events.map((e) => e.message),
        ['in dev', 'heard in dev', 'not heard in dev'],
      );
    });

    test("gives a room's last chat lines (HISTORY_ON_JOIN of them, notices left out) with its head, read together", async ({ bus }) => {
      for (const m of ['one', 'two', 'three', 'four']) await bus.publish(line(m));
      await bus.publish({ type: 'notification', room: ROOM, id: 'x', nickname: 'x', message: 'x has joined', event: 'joined', time: 0 });
      const recent = await bus.recent(ROOM, 10);
      assert.deepEqual(recent.head, await bus.head(ROOM));
      assert.equal(recent.head.seq, 5);
      assert.deepEqual(
        recent.lines.map((e) => [e.seq, e.message]),
        [
          [2, 'two'],
          [3, 'three'],
          [4, 'four'],
        ],
        'the last three (historyOnJoin) chat lines, oldest first',
      );
      assert.deepEqual(
        (await bus.recent(ROOM, 2)).lines.map((e) => e.message),
        ['three', 'four'],
      );
      assert.deepEqual((await bus.recent('empty', 10)).lines, []);
    });

    test(
      'forgets a room nobody uses once ROOM_TTL_MS has passed since its last use; it comes back in a new epoch at seq 0',
      async ({ bus, clock, keeps }) => {
        // A room of notices only, and one only ever asked for its head (a refused join leaves one such).
        const noticed = await bus.publish(joinedNotice('noticed'), 'p:reg-1:joined:1');
        const asked = await bus.head('asked');
        assert.deepEqual([await keeps('noticed'), await keeps('asked')], [true, true]);
        clock.now += ROOM_TTL;
        for (const room of ['noticed', 'asked']) {
          await eventually(async () => !(await keeps(room)), { what: `room ${room} to be forgotten`, timeoutMs: FORGET_WAIT_MS });
        }
        const back = await bus.head('noticed');
        assert.notEqual(back.epoch, noticed.epoch, 'a new epoch');
        assert.equal(back.seq, 0);
        assert.deepEqual(await bus.history('noticed', { epoch: noticed.epoch, seq: 0 }), {
          ok: false,
          head: back,
          reason: 'epoch changed',
        });
        assert.notEqual((await bus.head('asked')).epoch, asked.epoch);
        const again = await bus.publish(joinedNotice('noticed'), 'p:reg-1:joined:2');
        assert.deepEqual([again.epoch, again.seq], [back.epoch, 1], 'numbered from 1 in the new epoch');
      },
      LIFETIMES,
    );

    test(
      'keeps a room while a node subscribes to it, however long, and forgets it ROOM_TTL_MS after the node leaves it',
      async ({ bus, clock, keeps }) => {
        await bus.subscribe('served');
        const before = await bus.publish(joinedNotice('served'), 'p:reg-1:joined:1');
        // Two lifetimes go by: a room made after it, that nobody serves, is forgotten each time; it is not.
        for (const round of [1, 2]) {
          const idle = `idle-${round}`;
          await bus.head(idle);
          clock.now += ROOM_TTL;
          await eventually(async () => !(await keeps(idle)), { what: `room ${idle} to be forgotten`, timeoutMs: FORGET_WAIT_MS });
          assert.equal(await keeps('served'), true, `the served room is kept after ${round} lifetime(s) of an idle room`);
        }
        assert.deepEqual(await bus.head('served'), { epoch: before.epoch, seq: 1 }, 'the same epoch, its events kept');
        await bus.unsubscribe('served');
        clock.now += ROOM_TTL;
        await eventually(async () => !(await keeps('served')), { what: 'the room left to be forgotten', timeoutMs: FORGET_WAIT_MS });
      },
      LIFETIMES,
    );

    test(
      'keeps the chat lines of a room nobody uses for ROOM_HISTORY_TTL_MS, longer than a room that had none',
      async ({ bus, clock, keeps }) => {
        await bus.publish(joinedNotice('chatty'), 'p:reg-1:joined:1');
        const said = await bus.publish(line('still here', 'r1', 'client-1', 'chatty'));
        await bus.head('quiet');
        clock.now += ROOM_TTL;
        await eventually(async () => !(await keeps('quiet')), {
          what: 'the room with no chat line to be forgotten',
          timeoutMs: FORGET_WAIT_MS,
        });
        assert.equal(await keeps('chatty'), true, 'the room with a chat line is kept past ROOM_TTL_MS');
        const recent = await bus.recent('chatty', 10);
        assert.deepEqual(recent.head, { epoch: said.epoch, seq: 2 });
        assert.deepEqual(
          recent.lines.map((e) => e.message),
          ['still here'],
        );
        const history = await bus.history('chatty', { epoch: said.epoch, seq: 0 });
        assert.ok(history.ok, 'its history is whole');
        assert.deepEqual(
          history.events.map((e) => e.seq),
          [1, 2],
        );
        // (Reading is a use on MemoryBus, not on Redis: either way the lifetime has passed after this.)
        clock.now += ROOM_HISTORY_TTL;
        await eventually(async () => !(await keeps('chatty')), {
          what: 'the room with chat lines to be forgotten',
          timeoutMs: FORGET_WAIT_MS,
        });
        assert.deepEqual((await bus.recent('chatty', 10)).lines, [], 'its lines went with it');
        const resent = await bus.publish(line('still here', 'r1', 'client-1', 'chatty'));
        assert.deepEqual(
          [resent.duplicate, resent.seq],
          [false, 1],
          'its refs went with it: a resend is not acknowledged for a line no history holds; it is a new line',
        );
      },
      LIFETIMES,
    );

    test('counts guests 1, 2, 3', async ({ bus }) => {
      assert.deepEqual([await bus.nextGuestNumber(), await bus.nextGuestNumber(), await bus.nextGuestNumber()], [1, 2, 3]);
    });

    test('refuses to publish once closed, with BusUnavailableError, and says it is not ready', async ({ bus }) => {
      assert.equal(bus.health().ready, true);
      await bus.close();
      await assert.rejects(bus.publish(line('too late')), BusUnavailableError);
      assert.equal(bus.health().ready, false);
    });
  });
}

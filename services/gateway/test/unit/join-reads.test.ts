import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Position } from '@switchboard/protocol';
import type { HistoryResult, RecentLines } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { JoinReads } from '../../src/hub/join-reads.js';

const LIMITS = { historyMaxEvents: 100, historyMaxAgeMs: 60_000, historyMaxBytes: 1_000_000, refsPerClient: 100, historyOnJoin: 10 };
const BOUNDS = { maxEvents: 100, maxBytes: 1_000_000 };

/**
 * A MemoryBus whose reads are counted and answered only when the test says:
 * each read takes the bus's state when it is sent (as Redis runs a script at
 * once) and is held until release().
 */
function heldBus() {
  const bus = new MemoryBus(LIMITS);
  bus.start(() => undefined);
  const held: (() => void)[] = [];
  const calls = { recent: 0, history: 0 };
  const hold = <T>(answer: Promise<T>) =>
    answer.then(
      (value) =>
        new Promise<T>((resolve) => {
          held.push(() => resolve(value));
        }),
    );
  const recent = bus.recent.bind(bus);
  const history = bus.history.bind(bus);
  bus.recent = (...args) => {
    calls.recent++;
    return hold(recent(...args));
  };
  bus.history = (...args) => {
    calls.history++;
    return hold(history(...args));
  };
  /** Answer every read held so far. */
  const release = async () => {
    await settle();
    for (const answer of held.splice(0)) answer();
  };
  return { bus, calls, release };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const say = (bus: MemoryBus, message: string) => bus.publish({ type: 'message', room: 'lobby', id: 'c', nickname: 'n', message, time: 0 });

/** Settle `reads`, answering held reads as long as some are still waiting. */
async function answered<T>(release: () => Promise<void>, reads: Promise<T>[]): Promise<T[]> {
  let done = false;
  const all = Promise.all(reads).finally(() => (done = true));
  for (let turn = 0; !done && turn < 100; turn++) await release();
  return all;
}

function messages(result: RecentLines): string[] {
  return result.lines.map((line) => line.message);
}

function replayed(result: HistoryResult): number[] {
  assert.ok(result.ok, `a replay, not ${result.ok ? '' : result.reason}`);
  return result.events.map((event) => event.seq);
}

describe('JoinReads', () => {
  it("gives members arriving while a room's read is on its way that read: one read for all", async () => {
    const { bus, calls, release } = heldBus();
    for (const line of ['a', 'b', 'c']) await say(bus, line);
    const reads = new JoinReads(bus);
    const floor = await bus.head('lobby');
    const all = Array.from({ length: 20 }, () => reads.recent('lobby', 10, reads.arrive(floor)));
    const answers = await answered(release, all);
    assert.equal(calls.recent, 1);
    for (const answer of answers) {
      assert.deepEqual(messages(answer), ['a', 'b', 'c']);
      assert.deepEqual(answer.head, floor);
    }
  });

  it('does not give a member a read whose head is behind where the node stood when it arrived: it shares the next', async () => {
    const { bus, calls, release } = heldBus();
    await say(bus, 'a');
    const reads = new JoinReads(bus);
    const early = reads.recent('lobby', 10, reads.arrive(await bus.head('lobby')));
    // A line passed on after that read was sent: members arriving now cannot get it live.
    await say(bus, 'b');
    const floor = await bus.head('lobby');
    const late = [reads.recent('lobby', 10, reads.arrive(floor)), reads.recent('lobby', 10, reads.arrive(floor))];
    const [first, ...after] = await answered(release, [early, ...late]);
    assert.deepEqual(messages(first!), ['a']);
    for (const answer of after) {
      assert.deepEqual(messages(answer), ['a', 'b']);
      assert.deepEqual(answer.head, floor);
    }
    assert.equal(calls.recent, 2, 'the late ones shared one read, sent once the first was back');
  });

  it('does not give a member a read of another epoch than the one the node stood in', async () => {
    const { bus, calls, release } = heldBus();
    await say(bus, 'a');
    const reads = new JoinReads(bus);
    const head = await bus.head('lobby');
    const early = reads.recent('lobby', 10, reads.arrive(head));
    const late = reads.recent('lobby', 10, reads.arrive({ epoch: 'another', seq: 0 }));
    await answered(release, [early, late]);
    assert.equal(calls.recent, 2);
  });

  it('gives any member the read sent after it arrived, whatever its head', async () => {
    const { bus, calls, release } = heldBus();
    const reads = new JoinReads(bus);
    // The member arrived where the node stood at seq 5 (the bus knows less: it went back in time): the read after it is its own.
    const arrival = reads.arrive({ epoch: (await bus.head('lobby')).epoch, seq: 5 });
    const first = reads.recent('lobby', 10, arrival);
    const second = reads.recent('lobby', 10, arrival);
    await answered(release, [first, second]);
    assert.equal(calls.recent, 1);
  });

  it('reads again for members waiting on a read that failed', async () => {
    const { bus, calls, release } = heldBus();
    const reads = new JoinReads(bus);
    const recent = bus.recent.bind(bus);
    let failures = 1;
    bus.recent = (...args) => (failures-- > 0 ? Promise.reject(new Error('redis away')) : recent(...args));
    const floor = await bus.head('lobby');
    const failed = reads.recent('lobby', 10, reads.arrive(floor));
    const waiting = reads.recent('lobby', 10, reads.arrive(floor));
    await assert.rejects(failed, /redis away/);
    const [answer] = await answered(release, [waiting]);
    assert.deepEqual(answer!.head, floor);
    assert.equal(calls.recent, 1, 'one read besides the failed one');
  });

  it('answers resumes from one position with one read, and later positions of the epoch with the events after them', async () => {
    const { bus, calls, release } = heldBus();
    for (const line of ['a', 'b', 'c', 'd', 'e']) await say(bus, line);
    const reads = new JoinReads(bus);
    const head = await bus.head('lobby');
    const at = (seq: number): Position => ({ epoch: head.epoch, seq });
    const all = [1, 1, 1, 3, 4, 5].map((seq) => reads.history('lobby', at(seq), BOUNDS, reads.arrive(head)));
    const answers = await answered(release, all);
    assert.equal(calls.history, 1);
    assert.deepEqual(answers.map(replayed), [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5], [4, 5], [5], []]);
    assert.deepEqual(
      answers.map((answer) => (answer.ok ? answer.since.seq : -1)),
      [1, 1, 1, 3, 4, 5],
    );
  });

  it('reads again for a resume from an earlier position, another epoch, or other bounds', async () => {
    const { bus, calls, release } = heldBus();
    for (const line of ['a', 'b', 'c']) await say(bus, line);
    const reads = new JoinReads(bus);
    const head = await bus.head('lobby');
    const at = (seq: number): Position => ({ epoch: head.epoch, seq });
    const all = [
      reads.history('lobby', at(2), BOUNDS, reads.arrive(head)),
      reads.history('lobby', at(1), BOUNDS, reads.arrive(head)),
      reads.history('lobby', { epoch: 'gone', seq: 2 }, BOUNDS, reads.arrive(head)),
      reads.history('lobby', at(2), { maxEvents: 1, maxBytes: 1_000_000 }, reads.arrive(head)),
    ];
    const answers = await answered(release, all);
    assert.equal(calls.history, 4);
    assert.deepEqual(replayed(answers[0]!), [3]);
    assert.deepEqual(replayed(answers[1]!), [2, 3]);
    assert.equal(answers[2]!.ok, false);
    assert.deepEqual(replayed(answers[3]!), [3]);
  });

  it('does not answer a later position from a refusal, nor from a position past the head read', async () => {
    const { bus, calls, release } = heldBus();
    for (const line of ['a', 'b', 'c']) await say(bus, line);
    const reads = new JoinReads(bus);
    const head = await bus.head('lobby');
    const at = (seq: number): Position => ({ epoch: head.epoch, seq });
    const two = { maxEvents: 2, maxBytes: 1_000_000 };
    const tooFar = reads.history('lobby', at(0), two, reads.arrive(head));
    // Waits for that one (a refusal), then reads for itself, after the line below.
    const within = reads.history('lobby', at(2), two, reads.arrive(head));
    const early = reads.history('lobby', at(1), BOUNDS, reads.arrive(head));
    await say(bus, 'd');
    const ahead = reads.history('lobby', at(4), BOUNDS, reads.arrive(await bus.head('lobby')));
    const answers = await answered(release, [tooFar, within, early, ahead]);
    assert.deepEqual(answers[0], { ok: false, head, reason: 'too far behind' });
    assert.deepEqual(replayed(answers[1]!), [3, 4]);
    assert.deepEqual(replayed(answers[2]!), [2, 3]);
    assert.deepEqual(replayed(answers[3]!), []);
    assert.equal(calls.history, 4);
  });
});

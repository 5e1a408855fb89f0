import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { pino } from 'pino';
import { ShardWatchdog, type ProbeTarget } from '../../src/bus/shard-watchdog.js';
import { noMetrics, type Metrics } from '../../src/metrics/metrics.js';

const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 3_000;
/** From the last probe heard, rounds until a silent shard is judged: the next probe is sent an interval later, and waited for TIMEOUT_MS. */
const SILENCE_MS = TIMEOUT_MS + INTERVAL_MS;

/** A watchdog over fake shards: a clock moved by hand, a Redis that echoes a probe only for shards that deliver. */
function harness(shards: ProbeTarget[] = [{ shard: 'a:1', channel: 'probe-a' }]) {
  let now = 0;
  const delivering = new Set(shards.map((s) => s.shard));
  const calls = {
    mends: [] as Array<[string, number]>,
    changes: 0,
    up: [] as Array<[string, boolean]>,
    unheard: [] as string[],
    gone: [] as string[],
    subscribed: [] as string[],
    unsubscribed: [] as string[],
  };
  /** Probes sent and not yet delivered (delivery is up to the test). */
  const inFlight: Array<{ channel: string; payload: string }> = [];
  const metrics: Metrics = {
    ...noMetrics,
    shardUp: (shard, up) => calls.up.push([shard, up]),
    shardUnheard: (shard) => calls.unheard.push(shard),
    shardGone: (shard) => calls.gone.push(shard),
  };
  const targets = { list: shards };
  const watchdog = new ShardWatchdog({
    nodeId: 'node-1',
    intervalMs: INTERVAL_MS,
    timeoutMs: TIMEOUT_MS,
    shards: () => targets.list,
    shardOf: (channel) => (channel.startsWith('room-') ? channel.slice('room-'.length) : undefined),
    subscribe: (channel) => {
      calls.subscribed.push(channel);
      return Promise.resolve();
    },
    unsubscribe: (channel) => {
      calls.unsubscribed.push(channel);
      return Promise.resolve();
    },
    publish: (channel, payload) => {
      inFlight.push({ channel, payload });
      return Promise.resolve();
    },
    mend: (shard, attempt) => {
      calls.mends.push([shard, attempt]);
      return Promise.resolve();
    },
    onChange: () => calls.changes++,
    log: pino({ level: 'silent' }),
    metrics,
    now: () => now,
  });
  /** Deliver every probe in flight on a shard that delivers. */
  const deliver = () => {
    for (const { channel, payload } of inFlight.splice(0)) {
      const target = targets.list.find((t) => t.channel === channel);
      if (target && delivering.has(target.shard)) watchdog.heard(channel, payload);
    }
  };
  /** One round at each interval for `ms`, probes delivered as they go (by shards that deliver). */
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += INTERVAL_MS) {
      now += INTERVAL_MS;
      watchdog.round();
      deliver();
    }
  };
  return { watchdog, calls, delivering, inFlight, deliver, run, targets, advance: (ms: number) => (now += ms) };
}

describe('ShardWatchdog', () => {
  it('keeps a shard that delivers up: its gauge at 1, nothing counted, nothing mended', () => {
    const h = harness();
    h.run(10 * INTERVAL_MS);
    assert.deepEqual(h.watchdog.unheard(), []);
    assert.deepEqual(h.calls.up, [['a:1', true]]);
    assert.deepEqual(h.calls.unheard, []);
    assert.deepEqual(h.calls.mends, []);
    assert.deepEqual(h.calls.subscribed, ['probe-a']);
  });

  it('finds a shard silent once its probe has not come back within the timeout: says so, counts it, mends it', () => {
    const h = harness([
      { shard: 'a:1', channel: 'probe-a' },
      { shard: 'b:2', channel: 'probe-b' },
    ]);
    h.run(2 * INTERVAL_MS);
    h.delivering.delete('b:2');
    h.run(SILENCE_MS - INTERVAL_MS);
    assert.deepEqual(h.watchdog.unheard(), [], 'not before the timeout');
    h.run(INTERVAL_MS);
    assert.deepEqual(
      h.watchdog.unheard().map((u) => u.shard),
      ['b:2'],
    );
    assert.match(h.watchdog.unheard()[0]!.why, /probe was not heard back within 3000 ms/);
    assert.deepEqual(h.calls.up.at(-1), ['b:2', false]);
    assert.deepEqual(h.calls.unheard, ['b:2']);
    assert.deepEqual(h.calls.mends, [['b:2', 1]]);
    assert.equal(h.calls.changes, 1);
    // Still silent: mended again once per timeout, a stronger mend each time; counted once.
    h.run(TIMEOUT_MS);
    assert.deepEqual(h.calls.mends, [
      ['b:2', 1],
      ['b:2', 2],
    ]);
    assert.deepEqual(h.calls.unheard, ['b:2']);
    // The other shard carried on.
    assert.ok(!h.calls.up.some(([shard, up]) => shard === 'a:1' && !up));
  });

  it('hears a mended shard again on a probe sent after it was found silent, not on an older one', () => {
    const h = harness();
    h.run(INTERVAL_MS);
    h.delivering.clear();
    h.run(SILENCE_MS);
    assert.equal(h.watchdog.unheard().length, 1);
    // A probe from before the verdict arrives late: no proof that the shard delivers now.
    const stale = { channel: 'probe-a', payload: 'node-1 1' };
    h.watchdog.heard(stale.channel, stale.payload);
    assert.equal(h.watchdog.unheard().length, 1);
    // Another node's probe on the channel proves nothing about this node's subscriber either.
    h.watchdog.heard('probe-a', 'node-2 999');
    assert.equal(h.watchdog.unheard().length, 1);
    h.delivering.add('a:1');
    h.run(INTERVAL_MS);
    assert.deepEqual(h.watchdog.unheard(), []);
    assert.deepEqual(h.calls.up.at(-1), ['a:1', true]);
    assert.equal(h.calls.changes, 2);
  });

  it('counts a room whose own line has not come back, and not one whose line did (or a later one)', () => {
    const h = harness();
    h.run(INTERVAL_MS);
    h.watchdog.expect('room-a:1', 5);
    h.watchdog.expect('room-a:1', 6);
    h.run(INTERVAL_MS);
    h.watchdog.arrived('room-a:1', 7);
    h.run(2 * TIMEOUT_MS);
    assert.deepEqual(h.watchdog.unheard(), []);

    h.watchdog.expect('room-a:1', 8);
    h.watchdog.arrived('room-a:1', 4);
    h.run(TIMEOUT_MS);
    // The shard's probe came back in this round, but the line did not: the shard counts as silent until a later probe.
    assert.deepEqual(h.calls.unheard, ['a:1']);
    assert.deepEqual(h.calls.mends, [['a:1', 1]]);
    h.run(INTERVAL_MS);
    assert.deepEqual(h.watchdog.unheard(), [], 'heard again on the next probe');

    h.watchdog.expect('room-a:1', 9);
    h.watchdog.forget('room-a:1');
    h.run(2 * TIMEOUT_MS);
    assert.deepEqual(h.calls.unheard, ['a:1'], 'a room left is not waited for');
  });

  it('judges nothing on a round that comes late: a busy node is not taken for a deaf one', () => {
    const h = harness();
    h.run(INTERVAL_MS);
    // The event loop was blocked for 10 s: the probe came back but is unread; the round runs first.
    h.advance(10_000);
    h.watchdog.round();
    assert.deepEqual(h.watchdog.unheard(), []);
    h.deliver();
    h.run(5 * INTERVAL_MS);
    assert.deepEqual(h.calls.unheard, []);
  });

  it('follows the shards: a new master is probed on its own channel, one whose slots moved is forgotten', () => {
    const h = harness([{ shard: 'a:1', channel: 'probe-a' }]);
    h.run(INTERVAL_MS);
    h.delivering.clear();
    h.run(SILENCE_MS);
    assert.equal(h.watchdog.unheard().length, 1);
    const changes = h.calls.changes;
    // A failover: the replica b:2 owns the slots now (the same probe channel's slot).
    h.targets.list = [{ shard: 'b:2', channel: 'probe-a' }];
    h.delivering.add('b:2');
    h.run(INTERVAL_MS);
    assert.deepEqual(h.watchdog.unheard(), []);
    assert.deepEqual(h.calls.gone, ['a:1']);
    assert.deepEqual(h.calls.unsubscribed, [], 'the channel is still in use');
    assert.ok(h.calls.changes > changes);
    assert.deepEqual(h.calls.up.at(-1), ['b:2', true]);
  });

  it('listens again after its subscriber reconnected, and does not count what was lost meanwhile', () => {
    const h = harness();
    h.run(INTERVAL_MS);
    h.delivering.clear();
    h.run(SILENCE_MS - INTERVAL_MS);
    h.watchdog.listenAgain();
    h.delivering.add('a:1');
    h.run(INTERVAL_MS);
    assert.deepEqual(h.calls.unheard, []);
    assert.deepEqual(h.calls.subscribed, ['probe-a', 'probe-a']);
  });

  it('probes on its own timer once started, until stopped', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const h = harness();
      h.watchdog.start();
      mock.timers.tick(INTERVAL_MS * 3);
      assert.equal(h.inFlight.length, 3);
      h.watchdog.stop();
      mock.timers.tick(INTERVAL_MS * 3);
      assert.equal(h.inFlight.length, 3);
    } finally {
      mock.timers.reset();
    }
  });
});

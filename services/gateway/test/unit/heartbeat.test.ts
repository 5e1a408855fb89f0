import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Heartbeat, type Beating } from '../../src/ws/heartbeat.js';

/** Beats every 1 s (half the ping interval). */
const PING_INTERVAL_MS = 2_000;
const BEAT_MS = 1_000;
/** The rule a connection applies: silent this long on the heartbeat's clock, dropped. */
const PONG_TIMEOUT_MS = 3_000;

/** A client as a connection sees it: last seen at heartbeat time, dropped once silent past the timeout. */
class Client implements Beating {
  lastSeen: number;
  droppedAt: number | undefined;

  constructor(private readonly heartbeat: Heartbeat) {
    this.lastSeen = heartbeat.now();
  }

  /** A pong (or any frame) read from the socket. */
  answered(): void {
    this.lastSeen = this.heartbeat.now();
  }

  beat(now: number): void {
    if (this.droppedAt === undefined && now - this.lastSeen >= PONG_TIMEOUT_MS) this.droppedAt = now;
  }
}

describe('Heartbeat', () => {
  let wall = 0;
  let heartbeat: Heartbeat;
  /** The next beat comes `wallMs` after the last one (BEAT_MS: on time; more: the event loop was that late). */
  const beatAfter = (wallMs: number) => {
    wall += wallMs;
    mock.timers.tick(BEAT_MS);
  };

  beforeEach(() => {
    mock.timers.enable({ apis: ['setInterval'] });
    wall = 0;
    heartbeat = new Heartbeat(PING_INTERVAL_MS, () => wall);
  });

  afterEach(() => mock.timers.reset());

  it('drops a silent client once its deadline passes while the node keeps time', () => {
    const client = new Client(heartbeat);
    heartbeat.add(client);
    beatAfter(BEAT_MS);
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, undefined);
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, 3_000);
    assert.equal(heartbeat.lagMs, 0);
  });

  it('does not count against a client the time its beat was late: a slow node is not a dead client', () => {
    const client = new Client(heartbeat);
    heartbeat.add(client);
    beatAfter(BEAT_MS);
    // The event loop is stuck for 10 s: the client's pong sits unread in its socket,
    // and the timer runs before the socket is read.
    beatAfter(10_000 + BEAT_MS);
    assert.equal(client.droppedAt, undefined, 'dropped for a pong the node could not read');
    assert.equal(heartbeat.lagMs, 10_000);
    client.answered(); // the pong, read right after the late beat
    beatAfter(BEAT_MS);
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, undefined);
  });

  it('still drops a client that stays silent after the node catches up, on the deadline moved back by the lag', () => {
    const client = new Client(heartbeat);
    heartbeat.add(client);
    beatAfter(BEAT_MS + 500); // 500 ms late
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, undefined);
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, 3_000, 'silent for 3 s of time the node kept');
    assert.equal(wall, 3_500);
  });

  it('does not take the time it had nobody to beat for as lag', () => {
    const first = new Client(heartbeat);
    heartbeat.add(first);
    beatAfter(BEAT_MS);
    heartbeat.delete(first);
    wall += 60_000; // idle: no timer, no beats
    const client = new Client(heartbeat);
    heartbeat.add(client);
    beatAfter(BEAT_MS);
    assert.equal(heartbeat.lagMs, 0);
    beatAfter(BEAT_MS);
    beatAfter(BEAT_MS);
    assert.equal(client.droppedAt, client.lastSeen + PONG_TIMEOUT_MS, 'dropped on time');
  });

  it('gives every member the same time on a beat, and stops beating when the last one leaves', () => {
    const seen: number[] = [];
    const member: Beating = { beat: (now) => seen.push(now) };
    const other: Beating = { beat: (now) => seen.push(now) };
    heartbeat.add(member);
    heartbeat.add(other);
    beatAfter(BEAT_MS);
    assert.deepEqual(seen, [1_000, 1_000]);
    heartbeat.delete(member);
    heartbeat.delete(other);
    beatAfter(BEAT_MS);
    assert.deepEqual(seen, [1_000, 1_000]);
  });
});

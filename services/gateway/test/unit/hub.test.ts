import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCode, parseServerFrame, type BroadcastEvent, type ServerFrame } from '@switchboard/protocol';
import { BusUnavailableError, type Bus, type BusEventHandler } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { Hub } from '../../src/hub/hub.js';
import type { Peer } from '../../src/hub/peer.js';

const logger = pino({ level: 'silent' });

class FakePeer implements Peer {
  readonly raw: Buffer[] = [];
  readonly log = logger;
  constructor(
    readonly id: string,
    public nickname: string,
  ) {}
  sendEncoded(frame: Buffer): void {
    this.raw.push(frame);
  }
  get frames(): ServerFrame[] {
    return this.raw.map((b) => parseServerFrame(b.toString()));
  }
}

/** Let queued bus deliveries (microtasks) and publish callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function hubWith(bus: Bus = new MemoryBus('node-a')): Hub {
  const hub = new Hub(bus, 'node-a', logger);
  hub.start();
  return hub;
}

describe('Hub', () => {
  it('sends welcome as the first frame, with the node id, before any broadcast', async () => {
    const hub = hubWith();
    const alice = new FakePeer('a', 'AnonymousUser1');
    hub.join(alice);
    await settle();
    assert.deepEqual(
      alice.frames.map((f) => f.type),
      ['welcome', 'notification'],
    );
    assert.equal((alice.frames[0] as { node: string }).node, 'node-a');
    assert.equal(alice.frames[1]!.message, 'AnonymousUser1 has connected');
  });

  it('hands the very same encoded bytes to every peer: one serialization per event', async () => {
    const hub = hubWith();
    const peers = [new FakePeer('a', 'A'), new FakePeer('b', 'B'), new FakePeer('c', 'C')];
    for (const p of peers) hub.join(p);
    await settle();
    hub.receive(peers[0]!, 'hello');
    await settle();
    const last = peers.map((p) => p.raw.at(-1));
    assert.equal(parseServerFrame(last[0]!.toString()).message, 'hello');
    assert.ok(last.every((b) => b === last[0]), 'every peer got the same Buffer instance');
  });

  it('echoes a chat line to the sender too, as the seed does', async () => {
    const hub = hubWith();
    const alice = new FakePeer('a', 'alice');
    hub.join(alice);
    hub.receive(alice, 'hi all');
    await settle();
    assert.deepEqual(alice.frames.at(-1), { ...alice.frames.at(-1), type: 'message', id: 'a', nickname: 'alice', message: 'hi all' });
  });

  it('renames on /nick and tells everyone in the seed wording', async () => {
    const hub = hubWith();
    const alice = new FakePeer('a', 'AnonymousUser1');
    const bob = new FakePeer('b', 'AnonymousUser2');
    hub.join(alice);
    hub.join(bob);
    hub.receive(alice, '/nick alice');
    hub.receive(alice, 'after');
    await settle();
    const update = bob.frames.find((f) => f.type === 'nick_update');
    assert.equal(update?.nickname, 'alice');
    assert.equal(update?.message, 'Client AnonymousUser1 changed to alice');
    assert.equal(bob.frames.at(-1)?.nickname, 'alice', 'later lines carry the new nickname');
  });

  it('answers a malformed command with an error to the sender alone', async () => {
    const hub = hubWith();
    const alice = new FakePeer('a', 'alice');
    const bob = new FakePeer('b', 'bob');
    hub.join(alice);
    hub.join(bob);
    await settle();
    const before = bob.raw.length;
    hub.receive(alice, '/nick');
    await settle();
    assert.equal(alice.frames.at(-1)?.type, 'error');
    assert.equal((alice.frames.at(-1) as { code: string }).code, ErrorCode.NICK_REQUIRED);
    assert.equal(bob.raw.length, before, 'nothing reached the others');
  });

  it('announces a leave once, however often it is reported', async () => {
    const hub = hubWith();
    const alice = new FakePeer('a', 'alice');
    const bob = new FakePeer('b', 'bob');
    hub.join(alice);
    hub.join(bob);
    hub.leave(alice);
    hub.leave(alice);
    await settle();
    const notices = bob.frames.filter((f) => f.message === 'alice has disconnected');
    assert.equal(notices.length, 1);
    assert.equal(hub.size, 1);
  });

  it('tells the sender when the bus refuses a line, and keeps the old nickname when a rename is lost', async () => {
    const failing: Bus = {
      start: (_h: BusEventHandler) => undefined,
      publish: (_e: BroadcastEvent) => Promise.reject(new BusUnavailableError('down')),
      nextGuestNumber: () => Promise.reject(new BusUnavailableError('down')),
      health: () => ({ ready: false, reason: 'down' }),
      onHealthChange: () => undefined,
      close: () => Promise.resolve(),
    };
    const hub = hubWith(failing);
    const alice = new FakePeer('a', 'alice');
    hub.join(alice);
    hub.receive(alice, 'hello?');
    hub.receive(alice, '/nick zed');
    await settle();
    const errors = alice.frames.filter((f) => f.type === 'error');
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => (e as { code: string }).code === ErrorCode.BUS_UNAVAILABLE));
    assert.equal(alice.nickname, 'alice');
  });
});

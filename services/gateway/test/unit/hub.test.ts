import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCode, parseClientText, parseServerFrame, type ServerFrame } from '@switchboard/protocol';
import { BusUnavailableError, type Bus } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { clientLimits, defaultConfig } from '../../src/config/gateway-config.js';
import { Hub } from '../../src/hub/hub.js';
import type { Outgoing, Peer, ProtocolVersion } from '../../src/hub/peer.js';
import { LocalNodeLink } from '../../src/cluster/local-node-link.js';
import { MemorySessionRegistry } from '../../src/sessions/memory-session-registry.js';

const logger = pino({ level: 'silent' });
const LIMITS = { historyMaxEvents: 100, historyMaxAgeMs: 60_000, historyMaxBytes: 1_000_000, refsPerClient: 100, historyOnJoin: 50 };

let nextConn = 0;
class FakePeer implements Peer {
  readonly raw: Buffer[] = [];
  readonly log = logger;
  readonly conn = `conn-${++nextConn}`;
  id = '';
  nickname = '';
  constructor(readonly protocol: ProtocolVersion = 'v1') {}
  send(out: Outgoing): void {
    this.raw.push(out.payload);
  }
  close(code: number): void {
    this.closedWith = code;
  }
  closedWith: number | undefined;
  get frames(): ServerFrame[] {
    return this.raw.map((b) => parseServerFrame(b.toString()));
  }
}

/** Let queued bus deliveries (microtasks) and publish callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function hubWith(bus: Bus = new MemoryBus(LIMITS)): Hub {
  const config = defaultConfig();
  const presence = {
    maxRooms: config.maxRooms,
    presenceNoticeLimit: config.presenceNoticeLimit,
    summaryIntervalMs: config.presenceSummaryIntervalMs,
  };
  const sessions = new MemorySessionRegistry(bus, { ...presence, nodeId: 'node-a', tombstoneTtlMs: 60_000 }, logger);
  const options = {
    nodeId: 'node-a',
    resumeGraceMs: 1_000,
    resumeMaxEvents: 100,
    resumeMaxBytes: config.resumeMaxBytes,
    historyOnJoin: config.historyOnJoin,
    clientLimits: clientLimits(config),
  };
  const hub = new Hub(bus, sessions, new LocalNodeLink('node-a'), options, logger);
  hub.start();
  return hub;
}

/** Admit peers one after another, as connections arrive. */
async function admitted(hub: Hub, ...peers: FakePeer[]): Promise<FakePeer[]> {
  for (const peer of peers) await hub.admit(peer);
  await settle();
  return peers;
}

const say = (hub: Hub, peer: Peer, text: string) => hub.receive(peer, parseClientText(text));

describe('Hub', () => {
  it('sends welcome as the first frame, with the node id and position, before any broadcast', async () => {
    const hub = hubWith();
    const [alice] = await admitted(hub, new FakePeer());
    assert.deepEqual(
      alice!.frames.map((f) => f.type),
      ['welcome', 'notification'],
    );
    const welcome = alice!.frames[0] as { node: string; nickname: string; seq: number; session?: string };
    assert.equal(welcome.node, 'node-a');
    assert.equal(welcome.nickname, 'AnonymousUser1');
    assert.equal(welcome.seq, 0);
    assert.equal(welcome.session, undefined, 'seed clients get no session token');
    assert.equal(alice!.frames[1]!.message, 'AnonymousUser1 has connected');
  });

  it('hands the very same encoded bytes to every peer: one serialization per event', async () => {
    const hub = hubWith();
    const peers = await admitted(hub, new FakePeer(), new FakePeer(), new FakePeer());
    say(hub, peers[0]!, 'hello');
    await settle();
    const last = peers.map((p) => p.raw.at(-1));
    assert.equal(parseServerFrame(last[0]!.toString()).message, 'hello');
    assert.ok(
      last.every((b) => b === last[0]),
      'every peer got the same Buffer instance',
    );
  });

  it('numbers broadcasts 1, 2, 3 ... and echoes a chat line to the sender too, as the seed does', async () => {
    const hub = hubWith();
    const [alice] = await admitted(hub, new FakePeer());
    say(hub, alice!, 'hi all');
    await settle();
    const line = alice!.frames.at(-1) as { type: string; id: string; message: string; seq: number };
    assert.equal(line.type, 'message');
    assert.equal(line.id, alice!.id);
    assert.equal(line.message, 'hi all');
    assert.equal(line.seq, 2, 'after the connect notice');
  });

  it('renames on /nick and tells everyone in the seed wording', async () => {
    const hub = hubWith();
    const [alice, bob] = await admitted(hub, new FakePeer(), new FakePeer());
    say(hub, alice!, '/nick alice');
    say(hub, alice!, 'after');
    await settle();
    const update = bob!.frames.find((f) => f.type === 'nick_update');
    assert.equal(update?.nickname, 'alice');
    assert.equal(update?.message, 'Client AnonymousUser1 changed to alice');
    assert.equal(bob!.frames.at(-1)?.nickname, 'alice', 'later lines carry the new nickname');
  });

  it('answers a malformed command with an error to the sender alone', async () => {
    const hub = hubWith();
    const [alice, bob] = await admitted(hub, new FakePeer(), new FakePeer());
    const before = bob!.raw.length;
    say(hub, alice!, '/nick');
    await settle();
    assert.equal(alice!.frames.at(-1)?.type, 'error');
    assert.equal((alice!.frames.at(-1) as { code: string }).code, ErrorCode.NICK_REQUIRED);
    assert.equal(bob!.raw.length, before, 'nothing reached the others');
  });

  it('announces a seed client leave once, however often it is reported', async () => {
    const hub = hubWith();
    const [alice, bob] = await admitted(hub, new FakePeer(), new FakePeer());
    hub.leave(alice!, 1006);
    hub.leave(alice!, 1006);
    await hub.drain();
    await settle();
    const notices = bob!.frames.filter((f) => f.message === `${alice!.nickname} has disconnected`);
    assert.equal(notices.length, 1);
    assert.equal(hub.size, 1);
  });

  it('resumes a v2 session: same id, no notices, then exactly the events it missed', async () => {
    const hub = hubWith();
    const [alice, bob] = await admitted(hub, new FakePeer('v2'), new FakePeer());
    const welcome = alice!.frames[0] as { session: string; epoch: string };
    const seen = alice!.frames.at(-1) as { seq: number };
    hub.leave(alice!, 1006);
    say(hub, bob!, 'while you were away');
    await hub.drain();
    await settle();
    const again = new FakePeer('v2');
    await hub.admit(again, { type: 'hello', session: welcome.session, since: seen.seq, epoch: welcome.epoch });
    await settle();
    assert.equal(again.id, alice!.id);
    assert.deepEqual(
      again.frames.map((f) => [f.type, f.message]),
      [
        ['welcome', again.frames[0]!.message],
        ['message', 'while you were away'],
      ],
    );
    assert.equal((again.frames[0] as { resumed: boolean }).resumed, true);
    assert.ok(!bob!.frames.some((f) => f.type === 'notification' && f.id === alice!.id && /disconnected/.test(f.message)));
  });

  it('tells the sender when the bus refuses a line, and keeps the old nickname when a rename is lost', async () => {
    const bus = new MemoryBus(LIMITS);
    const hub = hubWith(bus);
    const [alice] = await admitted(hub, new FakePeer());
    bus.publish = () => Promise.reject(new BusUnavailableError('down'));
    say(hub, alice!, 'hello?');
    say(hub, alice!, '/nick zed');
    await hub.drain();
    const errors = alice!.frames.filter((f) => f.type === 'error');
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => (e as { code: string }).code === ErrorCode.BUS_UNAVAILABLE));
    assert.equal(alice!.nickname, 'AnonymousUser1');
  });
});

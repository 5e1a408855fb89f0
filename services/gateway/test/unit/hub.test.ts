import assert from 'node:assert/strict';
import type { UserToken } from '../../src/auth/token-verifier.js';
import { RoomPermissions } from '../../src/auth/room-permissions.js';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { CloseCode, ErrorCode, parseClientText, parseServerFrame, type ServerFrame } from '@switchboard/protocol';
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
  /** Identity on: the user its token names (any room, no locked name). */
  readonly user?: UserToken;
  constructor(
    readonly protocol: ProtocolVersion = 'v1',
    sub?: string,
  ) {
    if (sub !== undefined) this.user = { sub, expiresAt: Number.MAX_SAFE_INTEGER, rooms: RoomPermissions.everyone };
  }
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
  return hubOn(bus).hub;
}

/** A hub on a MemoryBus, with its bus and session registry (a test may make them wait). */
function hubParts(): { hub: Hub; bus: MemoryBus; sessions: MemorySessionRegistry } {
  const bus = new MemoryBus(LIMITS);
  return { bus, ...hubOn(bus) };
}

function hubOn(bus: Bus, presenceCacheMs = 0): { hub: Hub; sessions: MemorySessionRegistry } {
  const config = defaultConfig();
  const presence = {
    maxRooms: config.maxRooms,
    presenceNoticeLimit: config.presenceNoticeLimit,
    joinNoticeRatePerSec: config.joinNoticeRatePerSec,
    joinNoticeBurst: config.joinNoticeBurst,
    summaryIntervalMs: config.presenceSummaryIntervalMs,
  };
  const sessions = new MemorySessionRegistry(bus, { ...presence, nodeId: 'node-a', tombstoneTtlMs: 60_000 }, logger);
  const options = {
    nodeId: 'node-a',
    resumeGraceMs: 1_000,
    resumeMaxEvents: 100,
    resumeMaxBytes: config.resumeMaxBytes,
    historyOnJoin: config.historyOnJoin,
    presenceCacheMs,
    clientLimits: clientLimits(config),
  };
  const hub = new Hub(bus, sessions, new LocalNodeLink('node-a'), options, logger);
  hub.start();
  return { hub, sessions };
}

/** A gate a test opens: calls made to wait on it go on once it is open. */
class Gate {
  private opened = false;
  private readonly waiting: (() => void)[] = [];
  /** How many calls are waiting at the gate. */
  get count(): number {
    return this.waiting.length;
  }
  wait(): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  open(): void {
    this.opened = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** Make `method` of `target` wait at `gate`, before doing its work or (`after`) before answering. */
function gated<T extends object, K extends keyof T>(target: T, method: K, gate: Gate, when: 'before' | 'after' = 'before'): void {
  const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
  (target as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    if (when === 'before') await gate.wait();
    const answer = await original(...args);
    if (when === 'after') await gate.wait();
    return answer;
  };
}

/** Wait (on the event loop, not the clock) until `ready()` holds. */
async function until(ready: () => boolean): Promise<void> {
  for (let turn = 0; !ready(); turn++) {
    if (turn > 1_000) throw new Error('never happened');
    await settle();
  }
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

describe('Hub: presence questions', () => {
  /** A hub with a presence cache no test outlives, and a count of the registry's presence reads. */
  function cachedHub() {
    const bus = new MemoryBus(LIMITS);
    const { hub, sessions } = hubOn(bus, 60_000);
    const reads = { members: 0, rooms: 0 };
    const [members, rooms] = [sessions.members.bind(sessions), sessions.rooms.bind(sessions)];
    sessions.members = (...args) => (reads.members++, members(...args));
    sessions.rooms = (...args) => (reads.rooms++, rooms(...args));
    return { hub, reads };
  }
  const answers = (peer: FakePeer, type: 'members' | 'rooms') => peer.frames.filter((f) => f.type === type);

  it('answers /who and /rooms from one read of the registry per room while it is fresh, whoever asks', async () => {
    const { hub, reads } = cachedHub();
    const peers = await admitted(hub, new FakePeer(), new FakePeer(), new FakePeer());
    for (const peer of peers) for (const ask of ['/who', '/who', '/rooms']) say(hub, peer, ask);
    await settle();
    for (const peer of peers) {
      assert.equal(answers(peer, 'members').length, 2);
      assert.match(answers(peer, 'members')[0]!.message, /^3 people in #lobby/);
      assert.equal(answers(peer, 'rooms').length, 1);
    }
    assert.deepEqual(reads, { members: 1, rooms: 1 }, 'nine questions, two reads');
  });

  it("sees a member's own coming and its own join at once: this node's moves refresh the answers", async () => {
    const { hub, reads } = cachedHub();
    const [alice] = await admitted(hub, new FakePeer());
    say(hub, alice!, '/who');
    await settle();
    const [bob] = await admitted(hub, new FakePeer());
    say(hub, bob!, '/who');
    await settle();
    assert.match(answers(bob!, 'members')[0]!.message, /^2 people in #lobby/, 'bob, admitted after the answer was read, is in it');
    say(hub, bob!, '/join dev');
    say(hub, bob!, '/who');
    say(hub, bob!, '/rooms');
    await until(() => answers(bob!, 'rooms').length === 1);
    say(hub, alice!, '/who');
    await until(() => answers(alice!, 'members').length === 2);
    assert.equal(answers(bob!, 'members')[1]!.message, '1 person in #dev: AnonymousUser2');
    assert.equal(answers(bob!, 'rooms')[0]!.message, 'Rooms: #dev (1), #lobby (1)');
    assert.match(answers(alice!, 'members')[1]!.message, /^1 person in #lobby/, 'alice sees bob gone');
    assert.equal(reads.members, 4);
  });
});

/** What a peer got from frame `from` on, one `type nickname: message` line per frame (history marked). */
function seen(peer: FakePeer, from = 0): string[] {
  return peer.frames
    .slice(from)
    .map((f) => `${f.type}${(f as { history?: boolean }).history ? ' (history)' : ''} ${f.nickname}: ${f.message}`);
}

describe("Hub: a member's lifecycle", () => {
  it('handles the frames a member sent while it was admitted in order, after its welcome and its connect notice', async () => {
    const { hub, bus } = hubParts();
    const [bob] = await admitted(hub, new FakePeer());
    const welcomeReady = new Gate();
    gated(bus, 'recent', welcomeReady); // admission reads the room's recent lines just before the welcome
    const alice = new FakePeer();
    const admitting = hub.admit(alice);
    await until(() => welcomeReady.count === 1);
    for (const text of ['/nick', 'first', '/nick ada', 'second']) say(hub, alice, text);
    await settle();
    assert.equal(alice.raw.length, 0, 'nothing is answered before the welcome');
    welcomeReady.open();
    await admitting;
    await hub.drain();
    await settle();
    assert.deepEqual(seen(alice), [
      `welcome AnonymousUser2: ${alice.frames[0]!.message}`,
      'notification AnonymousUser2: AnonymousUser2 has connected',
      'error AnonymousUser2: Usage: /nick NAME (a name is required).',
      'message AnonymousUser2: first',
      'nick_update ada: Client AnonymousUser2 changed to ada',
      'message ada: second',
    ]);
    assert.deepEqual(seen(bob!, 2), [
      'notification AnonymousUser2: AnonymousUser2 has connected',
      'message AnonymousUser2: first',
      'nick_update ada: Client AnonymousUser2 changed to ada',
      'message ada: second',
    ]);
  });

  it('lets a member whose connection closed before its welcome go quietly: no welcome, no notice, no session', async () => {
    const { hub, bus, sessions } = hubParts();
    const [bob] = await admitted(hub, new FakePeer());
    const before = bob!.raw.length;
    const welcomeReady = new Gate();
    gated(bus, 'recent', welcomeReady);
    const alice = new FakePeer('v2');
    const admitting = hub.admit(alice);
    await until(() => welcomeReady.count === 1);
    say(hub, alice, 'too soon');
    hub.leave(alice, 1006);
    welcomeReady.open();
    await admitting;
    await hub.drain();
    await settle();
    assert.equal(alice.raw.length, 0, 'no welcome, no answer');
    assert.equal(bob!.raw.length, before, 'the others heard nothing of it');
    assert.equal(hub.size, 1);
    assert.equal((await sessions.members('lobby', 10)).count, 1, 'its session ended');
  });

  it('leaves a member that closed after its welcome, before its connect notice was out, after the lines it sent', async () => {
    const { hub, sessions } = hubParts();
    const [bob] = await admitted(hub, new FakePeer());
    const noticeOut = new Gate();
    gated(sessions, 'announce', noticeOut);
    const alice = new FakePeer();
    const admitting = hub.admit(alice);
    await until(() => noticeOut.count === 1);
    assert.equal(alice.frames[0]?.type, 'welcome');
    say(hub, alice, 'bye');
    hub.leave(alice, 1006);
    noticeOut.open();
    await admitting;
    await hub.drain();
    await settle();
    assert.deepEqual(seen(bob!, 2), [
      'notification AnonymousUser2: AnonymousUser2 has connected',
      'message AnonymousUser2: bye',
      'notification AnonymousUser2: AnonymousUser2 has disconnected',
    ]);
    assert.equal(hub.size, 1);
  });

  it('queues the commands sent during a join: a line sent after /join dev is said in #dev', async () => {
    const { hub, sessions } = hubParts();
    const [alice, bob, carol] = await admitted(hub, new FakePeer(), new FakePeer(), new FakePeer());
    say(hub, carol!, '/join dev');
    await hub.drain();
    await settle();
    const moved = new Gate();
    gated(sessions, 'join', moved);
    const [atBob, atCarol] = [bob!.raw.length, carol!.raw.length];
    say(hub, alice!, '/join dev');
    say(hub, alice!, 'hello dev');
    say(hub, alice!, '/who');
    await until(() => moved.count === 1);
    await settle();
    assert.equal(carol!.raw.length, atCarol, 'nothing was said while the join is under way');
    moved.open();
    await hub.drain();
    await until(() => alice!.frames.at(-1)?.type === 'members');
    const line = carol!.frames.find((f) => f.message === 'hello dev') as { room: string } | undefined;
    assert.equal(line?.room, 'dev', 'said in #dev');
    assert.ok(!bob!.frames.slice(atBob).some((f) => f.message === 'hello dev'), 'not in #lobby');
    const types = alice!.frames.map((f) => f.type);
    assert.ok(types.indexOf('joined') < types.lastIndexOf('message'), 'its line comes after the joined answer');
    assert.equal((alice!.frames.at(-1) as { room: string }).room, 'dev', '/who answers for #dev');
  });

  it('queues the commands sent during a rename: a line sent after /nick ada is said by ada', async () => {
    const { hub, sessions } = hubParts();
    const [alice, bob] = await admitted(hub, new FakePeer(), new FakePeer());
    const renamed = new Gate();
    gated(sessions, 'rename', renamed);
    const before = bob!.raw.length;
    say(hub, alice!, '/nick ada');
    say(hub, alice!, 'hi');
    await until(() => renamed.count === 1);
    await settle();
    assert.equal(bob!.raw.length, before, 'nothing was said while the rename is under way');
    renamed.open();
    await hub.drain();
    await settle();
    assert.deepEqual(seen(bob!, before), ['nick_update ada: Client AnonymousUser1 changed to ada', 'message ada: hi']);
  });

  it("keeps the new room's live events while a join catches up, then sends each once, after the joined answer and history", async () => {
    const { hub, bus } = hubParts();
    const [alice, carol] = await admitted(hub, new FakePeer(), new FakePeer());
    say(hub, carol!, '/join dev');
    say(hub, carol!, 'old line');
    await hub.drain();
    await settle();
    const caughtUp = new Gate();
    gated(bus, 'recent', caughtUp, 'after'); // the join knows where it starts, but has not answered yet
    const before = alice!.raw.length;
    say(hub, alice!, '/join dev');
    await until(() => caughtUp.count === 1);
    say(hub, carol!, 'said while alice arrives');
    await until(() => carol!.frames.at(-1)?.message === 'said while alice arrives');
    assert.equal(alice!.raw.length, before, 'it waits in the backlog');
    caughtUp.open();
    await hub.drain();
    await settle();
    assert.deepEqual(seen(alice!, before), [
      'joined AnonymousUser1: You are in #dev.',
      'message (history) AnonymousUser2: old line',
      'message AnonymousUser2: said while alice arrives',
      'notification AnonymousUser1: AnonymousUser1 has joined',
    ]);
  });

  it("welcomes members arriving at once with one read of their room's lines, each missing nothing said meanwhile", async () => {
    const { hub, bus, sessions } = hubParts();
    const [alice] = await admitted(hub, new FakePeer());
    for (const text of ['one', 'two']) say(hub, alice!, text);
    await hub.drain();
    let reads = 0;
    const recent = bus.recent.bind(bus);
    bus.recent = (...args) => {
      reads++;
      return recent(...args);
    };
    const created = new Gate();
    gated(sessions, 'create', created);
    const read = new Gate();
    gated(bus, 'recent', read, 'after'); // each read takes the room as it is when sent, and answers when the gate opens
    const early = Array.from({ length: 5 }, () => new FakePeer());
    const admitting = early.map((peer) => hub.admit(peer));
    await until(() => created.count === early.length);
    created.open();
    await until(() => read.count === 1);
    await settle();
    // Said while that read is on its way: those waiting for it hear it live; one arriving after it cannot.
    say(hub, alice!, 'three');
    await until(() => alice!.frames.at(-1)?.message === 'three');
    const late = new FakePeer();
    admitting.push(hub.admit(late));
    await settle();
    read.open();
    await Promise.all(admitting);
    await hub.drain();
    await settle();
    assert.equal(reads, 2, 'the five shared one read; the late one, which had to read after "three", another');
    for (const peer of early) {
      const lines = seen(peer).filter((line) => line.startsWith('message'));
      assert.deepEqual(lines, [
        'message (history) AnonymousUser1: one',
        'message (history) AnonymousUser1: two',
        'message AnonymousUser1: three',
      ]);
    }
    const lines = seen(late).filter((line) => line.startsWith('message'));
    assert.deepEqual(lines, [
      'message (history) AnonymousUser1: one',
      'message (history) AnonymousUser1: two',
      'message (history) AnonymousUser1: three',
    ]);
  });

  it('keeps the rooms the others use when a member closes during a join, before or after it reaches the new room', async () => {
    for (const closes of ['before', 'after'] as const) {
      const { hub, bus } = hubParts();
      const [alice, bob, carol] = await admitted(hub, new FakePeer(), new FakePeer(), new FakePeer());
      say(hub, carol!, '/join dev');
      await hub.drain();
      await settle();
      const caughtUp = new Gate();
      gated(bus, 'recent', caughtUp);
      say(hub, alice!, '/join dev');
      say(hub, alice!, 'bye');
      if (closes === 'after') await until(() => caughtUp.count === 1);
      hub.leave(alice!, 1006);
      caughtUp.open();
      await hub.drain();
      await settle();
      assert.deepEqual([...bus.subscriptions()].sort(), ['dev', 'lobby'], `closed ${closes}: each room subscribed while used`);
      say(hub, bob!, 'still here?');
      await until(() => bob!.frames.at(-1)?.message === 'still here?');
      const atCarol = seen(carol!).filter((line) => line.includes('AnonymousUser1'));
      assert.deepEqual(
        atCarol.slice(-2),
        ['message AnonymousUser1: bye', 'notification AnonymousUser1: AnonymousUser1 has disconnected'],
        `closed ${closes}: its last line is said in #dev, before its leave`,
      );
      say(hub, carol!, '/join lobby');
      await hub.drain();
      await settle();
      assert.deepEqual([...bus.subscriptions()], ['lobby'], `closed ${closes}: #dev let go once nobody uses it`);
    }
  });

  it('writes the leave of a member that closes during a rename after the lines it sent', async () => {
    const { hub, sessions } = hubParts();
    const [alice, bob] = await admitted(hub, new FakePeer(), new FakePeer());
    const renamed = new Gate();
    gated(sessions, 'rename', renamed);
    const before = bob!.raw.length;
    say(hub, alice!, '/nick ada');
    say(hub, alice!, 'bye');
    hub.leave(alice!, 1006);
    assert.equal(hub.size, 1);
    renamed.open();
    await hub.drain();
    await settle();
    assert.deepEqual(seen(bob!, before), [
      'nick_update ada: Client AnonymousUser1 changed to ada',
      'message ada: bye',
      'notification ada: ada has disconnected',
    ]);
  });

  it('lets a member whose session is resumed elsewhere while it is admitted go, unwelcomed, and welcomes the new one', async () => {
    const { hub, bus } = hubParts();
    const [alice, bob] = await admitted(hub, new FakePeer('v2'), new FakePeer());
    const welcome = alice!.frames[0] as { session: string; epoch: string };
    hub.leave(alice!, 1006);
    await hub.drain();
    const welcomeReady = new Gate();
    gated(bus, 'recent', welcomeReady);
    const first = new FakePeer('v2');
    const resuming = hub.admit(first, { type: 'hello', session: welcome.session });
    await until(() => welcomeReady.count === 1);
    const second = new FakePeer('v2');
    const resumingAgain = hub.admit(second, { type: 'hello', session: welcome.session });
    await until(() => first.closedWith !== undefined);
    hub.leave(first, first.closedWith!);
    welcomeReady.open();
    await Promise.all([resuming, resumingAgain]);
    await hub.drain();
    await settle();
    assert.equal(first.closedWith, 4004);
    assert.equal(first.raw.length, 0, 'never welcomed');
    assert.equal(second.frames[0]?.type, 'welcome');
    assert.equal(second.id, alice!.id);
    assert.equal(hub.size, 2);
    say(hub, bob!, 'for the one that stayed');
    await until(() => second.frames.at(-1)?.message === 'for the one that stayed');
    assert.equal(first.raw.length, 0, 'gets nothing after it went');
    assert.ok(!bob!.frames.some((f) => /disconnected/.test(f.message)), 'the session never ended');
  });

  it("closes every connection of a user with 4011 when the backend disconnects it, and no one else's", async () => {
    const hub = hubWith();
    const [ada1, ada2, bob, anonymous] = [new FakePeer('v1', 'ada'), new FakePeer('v2', 'ada'), new FakePeer('v1', 'bob'), new FakePeer()];
    for (const peer of [ada1, ada2, bob, anonymous]) await hub.admit(peer);
    assert.equal(hub.disconnectUser('ada'), 2);
    assert.deepEqual(
      [ada1, ada2, bob, anonymous].map((p) => p.closedWith),
      [CloseCode.DISCONNECTED_BY_SERVER, CloseCode.DISCONNECTED_BY_SERVER, undefined, undefined],
    );
    assert.equal(hub.disconnectUser('nobody'), 0);
    // The v2 session ends at once (not resumable): everyone hears it went.
    hub.leave(ada2, CloseCode.DISCONNECTED_BY_SERVER);
    await until(() => bob.frames.some((f) => f.type === 'notification' && f.event === 'disconnected' && f.id === ada2.id));
  });
});

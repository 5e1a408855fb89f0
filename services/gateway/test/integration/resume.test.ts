import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode, type BroadcastEvent } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';

/** Short timings so grace periods and dead-node sweeps happen within a test. */
const TIMINGS = {
  RESUME_GRACE_MS: '1500',
  LEASE_TTL_MS: '3000',
  SWEEP_INTERVAL_MS: '200',
  DRAIN_DELAY_MS: '200',
  RESUME_MAX_EVENTS: '50',
  MESSAGE_BURST: '1000',
};
const GRACE_WAIT_MS = 30_000;

const v2 = (url: string, hello: object = {}) => ChatClient.connect(url, { hello });

/** The hello that resumes `client` where it stopped. */
function resumeHello(client: ChatClient): { session: string; since: number; epoch: string } {
  const last = client.events.at(-1);
  const welcome = client.welcome;
  return { session: welcome.session!, since: last?.seq ?? welcome.seq!, epoch: last?.epoch ?? welcome.epoch! };
}

function assertContiguous(events: readonly BroadcastEvent[], from: number): void {
  events.forEach((e, i) => assert.equal(e.seq, from + i, `event ${i} (${e.type} "${e.message}") has seq ${e.seq}`));
}

describe('protocol v2: resume, ordering and failures across three gateways', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  const start = (n: number, env: Record<string, string> = {}) =>
    GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `node-${n}`, ...TIMINGS, ...env } });

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all([1, 2, 3].map((n) => start(n)));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('welcomes a v2 client with a session token, the epoch, the seq and resumed:false', async () => {
    const client = await v2(nodes[0]!.wsUrl);
    const w = client.welcome;
    assert.equal(typeof w.session, 'string');
    assert.ok(w.session!.length >= 21);
    assert.equal(typeof w.epoch, 'string');
    assert.ok(Number.isInteger(w.seq));
    assert.equal(w.resumed, false);
    await client.close();
  });

  it('answers a rename to the name already held like any other (as the seed does): a nick_update for everyone, with the ref', async () => {
    const watcher = await ChatClient.connect(nodes[1]!.wsUrl);
    const sam = await v2(nodes[0]!.wsUrl);
    sam.sendJson({ type: 'nick', nickname: 'samey', ref: 's1' });
    await sam.waitFor((f) => f.type === 'nick_update' && f.ref === 's1', 'the first rename answered');
    sam.sendJson({ type: 'nick', nickname: 'samey', ref: 's2' });
    const answer = await sam.waitFor((f) => 'ref' in f && f.ref === 's2', 'the same-name rename answered');
    assert.equal(answer.type, 'nick_update');
    await watcher.waitForMessage('nick_update', 'Client samey changed to samey');
    await Promise.all([sam.close(), watcher.close()]);
  });

  it('closes a v2 connection whose first frame is not hello with 4003', async () => {
    const { WebSocket } = await import('ws');
    const socket = new WebSocket(nodes[0]!.wsUrl, 'switchboard.v2');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('plain text is not a hello');
    const code = await new Promise<number>((resolve) => socket.once('close', (closeCode: number) => resolve(closeCode)));
    assert.equal(code, CloseCode.HELLO_EXPECTED);
  });

  it('resumes on another node with the same id and nickname, the missed events in order, then live ones, and no notices', async () => {
    const watcher = await ChatClient.connect(nodes[2]!.wsUrl);
    const ann = await v2(nodes[0]!.wsUrl);
    ann.sendJson({ type: 'nick', nickname: 'ann', ref: 'n1' });
    await watcher.waitForMessage('nick_update', `Client ${ann.welcome.nickname} changed to ann`);
    await ann.waitFor((f) => f.type === 'nick_update' && f.ref === 'n1', 'the nick ack');
    const hello = resumeHello(ann);

    ann.reset();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) watcher.send(text);
    await watcher.waitForMessage('message', 'missed 3');

    const back = await v2(nodes[1]!.wsUrl, hello);
    assert.equal(back.welcome.resumed, true);
    assert.equal(back.welcome.id, ann.id);
    assert.equal(back.welcome.nickname, 'ann');
    assert.equal(back.node, 'node-2');
    await back.waitForMessage('message', 'missed 3');
    watcher.send('live after resume');
    await back.waitForMessage('message', 'live after resume');
    assertContiguous(back.events, hello.since + 1);
    assert.deepEqual(
      back.events.filter((e) => e.type === 'message').map((e) => e.message),
      ['missed 1', 'missed 2', 'missed 3', 'live after resume'],
    );
    await watcher.barrier('resume');
    assert.ok(
      !watcher.events.some((e) => e.type === 'notification' && e.id === ann.id && e.event !== 'connected'),
      'no disconnect notice within the grace window',
    );
    assert.equal(
      watcher.events.filter((e) => e.type === 'notification' && e.id === ann.id).length,
      1,
      'one connect notice, from the first connection only',
    );
    await Promise.all([back.close(), watcher.close()]);
  });

  it('repairs the gap after a node subscriber is killed with CLIENT KILL: its clients see every seq', async () => {
    const sender = await ChatClient.connect(nodes[0]!.wsUrl);
    const onNode2 = await ChatClient.connect(nodes[1]!.wsUrl);
    sender.send('before the kill');
    await onNode2.waitForMessage('message', 'before the kill');
    const from = onNode2.events.at(-1)!.seq;
    const mark = nodes[1]!.logs.items.length;
    const clients = await redis.cli('CLIENT', 'LIST');
    const sub = clients.split('\n').find((line) => / name=node-2:sub /.test(line));
    assert.ok(sub, 'the subscriber connection of node-2 is listed');
    await redis.cli('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(sub)![1]!);
    await nodes[1]!.logs.waitFor((l) => l.msg === 'bus not ready', GRACE_WAIT_MS, 'node-2 to lose its subscription', mark);
    for (let i = 0; i < 5; i++) sender.send(`during the gap ${i}`);
    await onNode2.waitForMessage('message', 'during the gap 4', GRACE_WAIT_MS);
    await nodes[1]!.logs.waitFor((l) => l.msg === 'gap repaired from history', GRACE_WAIT_MS, 'the repair log line', mark);
    assertContiguous(
      onNode2.events.filter((e) => e.seq > from),
      from + 1,
    );
    await Promise.all([sender.close(), onNode2.close()]);
  });

  it('announces exactly one disconnect when the grace window passes without a resume', async () => {
    const watcher = await ChatClient.connect(nodes[0]!.wsUrl);
    const bob = await v2(nodes[1]!.wsUrl);
    await watcher.waitForMessage('notification', `${bob.welcome.nickname} has connected`);
    bob.sendJson({ type: 'message', message: 'sent before the drop', ref: 'late-1' });
    await bob.waitFor((f) => f.type === 'message' && f.ref === 'late-1', 'the echo of late-1');
    const hello = resumeHello(bob);
    bob.reset();
    await watcher.waitForMessage('notification', `${bob.welcome.nickname} has disconnected`, GRACE_WAIT_MS);
    await watcher.barrier('grace');
    assert.equal(watcher.events.filter((e) => e.message === `${bob.welcome.nickname} has disconnected`).length, 1);

    // Coming back too late: not resumed (a new session, announced anew), but the same id,
    // so a frame it resends because it never saw the acknowledgement is still recognised.
    const late = await v2(nodes[2]!.wsUrl, hello);
    assert.equal(late.welcome.resumed, false);
    assert.equal(late.id, bob.id);
    assert.notEqual(late.welcome.session, hello.session);
    await watcher.waitFor(
      (f) => f.type === 'notification' && f.id === bob.id && f.event === 'connected' && f.seq > hello.since,
      'the new connect notice',
    );
    late.sendJson({ type: 'message', message: 'sent before the drop', ref: 'late-1' });
    await late.waitFor((f) => f.type === 'ack' && f.ref === 'late-1', 'an ack, not a second broadcast');
    await watcher.barrier('late refs');
    assert.equal(watcher.events.filter((e) => e.message === 'sent before the drop').length, 1);
    await Promise.all([late.close(), watcher.close()]);
  });

  it('ends the sessions of a SIGKILLed node from a live node: one disconnect notice each', async () => {
    const doomed = await start(4);
    const watcher = await ChatClient.connect(nodes[0]!.wsUrl);
    const seed = await ChatClient.connect(doomed.wsUrl);
    const modern = await v2(doomed.wsUrl);
    await watcher.waitForMessage('notification', `${modern.welcome.nickname} has connected`);
    await doomed.kill();
    await watcher.waitForMessage('notification', `${seed.welcome.nickname} has disconnected`, GRACE_WAIT_MS);
    await watcher.waitForMessage('notification', `${modern.welcome.nickname} has disconnected`, GRACE_WAIT_MS);
    await watcher.barrier('dead node');
    for (const nick of [seed.welcome.nickname, modern.welcome.nickname]) {
      assert.equal(watcher.events.filter((e) => e.message === `${nick} has disconnected`).length, 1, nick);
    }
    await watcher.close();
  });

  it('never broadcasts a resent ref twice, on the same connection or after a resume elsewhere', async () => {
    const watcher = await ChatClient.connect(nodes[2]!.wsUrl);
    const eve = await v2(nodes[0]!.wsUrl);
    eve.sendJson({ type: 'message', message: 'only once', ref: 'r-1' });
    const original = await eve.waitFor((f) => f.type === 'message' && f.ref === 'r-1', 'the echo of r-1');
    eve.sendJson({ type: 'message', message: 'only once', ref: 'r-1' });
    const ack = await eve.waitFor((f) => f.type === 'ack', 'an ack for the retry');
    assert.equal((ack as { seq: number }).seq, (original as BroadcastEvent).seq);
    const hello = resumeHello(eve);
    eve.reset();
    const back = await v2(nodes[1]!.wsUrl, hello);
    back.sendJson({ type: 'message', message: 'only once', ref: 'r-1' });
    await back.waitFor((f) => f.type === 'ack' && f.ref === 'r-1', 'an ack after the resume');
    await watcher.barrier('refs');
    assert.equal(watcher.events.filter((e) => e.message === 'only once').length, 1);
    await Promise.all([back.close(), watcher.close()]);
  });

  it('does not replay more than RESUME_MAX_EVENTS: a client further behind keeps its identity and gets resumed:false', async () => {
    const talker = await ChatClient.connect(nodes[2]!.wsUrl);
    const lagger = await v2(nodes[0]!.wsUrl);
    const hello = resumeHello(lagger);
    lagger.reset();
    for (let i = 0; i < 60; i++) talker.send(`flood ${i}`);
    await talker.waitForMessage('message', 'flood 59');
    const back = await v2(nodes[1]!.wsUrl, hello);
    assert.equal(back.welcome.resumed, false);
    assert.equal(back.id, lagger.id, 'the session itself is still valid');
    await Promise.all([back.close(), talker.close()]);
  });

  it('gives a guessed or unknown session nothing: a new identity and resumed:false', async () => {
    const victim = await v2(nodes[0]!.wsUrl);
    const guesser = await v2(nodes[1]!.wsUrl, { session: victim.id, since: 0, epoch: victim.welcome.epoch });
    assert.notEqual(guesser.id, victim.id);
    assert.equal(guesser.welcome.resumed, false);
    await Promise.all([victim.close(), guesser.close()]);
  });

  it('announces a deliberate close (1000) at once, without waiting for the grace window', async () => {
    const watcher = await ChatClient.connect(nodes[0]!.wsUrl);
    const leaver = await v2(nodes[1]!.wsUrl);
    await leaver.close(1000);
    const notice = await watcher.waitForMessage('notification', `${leaver.welcome.nickname} has disconnected`);
    assert.equal(notice.id, leaver.id);
    await watcher.close();
  });
});

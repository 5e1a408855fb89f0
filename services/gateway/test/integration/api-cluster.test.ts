import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatClient, eventually, GatewayProcess, RedisCluster, RedisServer, scrape } from '@switchboard/testkit';

const KEYS = { old: 'rotating-out-key', current: 'current-key' };

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly replayed: boolean;
}

async function call(base: string, path: string, body?: object, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      Authorization: `Bearer ${KEYS.current}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    replayed: response.headers.get('idempotent-replayed') === 'true',
  };
}

/**
 * The backend API on three gateways over one Redis: a publish reaches members
 * on every node; the same Idempotency-Key sent to two nodes at once delivers one
 * line and both answers carry its seq; a disconnect reaches every node; keys are
 * checked (rotation: either of two), inputs refused with the field named.
 */
describe('the backend API on three gateways over Redis', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];
  const clients: ChatClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, METRICS_PORT: '0', API_KEY: `${KEYS.old}, ${KEYS.current}`, API_MAX_BODY_BYTES: '1024' };
    nodes = await Promise.all(['api-a', 'api-b', 'api-c'].map((id) => GatewayProcess.start({ env: { ...env, NODE_ID: id } })));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('publishes a line from `from`, and a notice from the system, to members on another node', async () => {
    const [a, , c] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const member = await ChatClient.connect(c.wsUrl);
    clients.push(member);
    await member.barrier();
    const line = await call(a.metricsUrl, '/api/publish', { room: 'lobby', text: 'deploy at noon', from: 'Ops' });
    assert.equal(line.status, 200);
    const seen = await member.waitForMessage('message', 'deploy at noon');
    assert.equal(seen.nickname, 'Ops');
    assert.deepEqual(line.body, { room: 'lobby', seq: seen.seq, epoch: seen.epoch });
    const notice = await call(a.metricsUrl, '/api/publish', { room: 'lobby', text: 'maintenance in 5 minutes' });
    const heard = await member.waitForMessage('notification', 'maintenance in 5 minutes');
    assert.equal(heard.type === 'notification' && heard.event, 'notice');
    assert.equal(notice.body.seq, heard.seq);
  });

  it('delivers one line for one Idempotency-Key sent to two nodes at once, and both answers carry its seq', async () => {
    const [a, b, c] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const member = await ChatClient.connect(c.wsUrl);
    clients.push(member);
    await member.barrier();
    const text = 'charged once';
    const headers = { 'Idempotency-Key': 'order-4711' };
    const answers = await Promise.all([a, b, a, b].map((n) => call(n.metricsUrl, '/api/publish', { room: 'lobby', text }, headers)));
    for (const answer of answers) assert.equal(answer.status, 200);
    const seqs = new Set(answers.map((x) => x.body.seq));
    assert.equal(seqs.size, 1, `one seq in every answer: ${JSON.stringify(answers.map((x) => x.body))}`);
    assert.equal(answers.filter((x) => !x.replayed).length, 1, 'one answer is the first, the others replays');
    // A later retry, to the third node, is a replay too.
    const late = await call(c.metricsUrl, '/api/publish', { room: 'lobby', text }, headers);
    assert.deepEqual(late.body, answers[0]!.body);
    assert.equal(late.replayed, true);
    // Everything published after it has arrived: so would a second copy of it.
    await call(a.metricsUrl, '/api/publish', { room: 'lobby', text: 'after the retries' });
    await member.waitForMessage('notification', 'after the retries');
    assert.equal(member.events.filter((e) => e.message === text).length, 1, 'delivered once');
    const history = await call(b.metricsUrl, '/api/history?room=lobby');
    const lines = history.body.lines as { message: string }[];
    assert.equal(lines.filter((l) => l.message === text).length, 0, 'a notice is not a chat line: history holds chat lines only');
  });

  it('answers rooms, presence and history for the whole cluster', async () => {
    const [a, b] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const member = await ChatClient.connect(b.wsUrl);
    clients.push(member);
    member.send('/join ops');
    await member.waitFor((f) => f.type === 'joined' && f.room === 'ops', 'joined #ops');
    member.send('first words in ops');
    await member.waitForMessage('message', 'first words in ops');
    const rooms = await call(a.metricsUrl, '/api/rooms');
    assert.ok(
      (rooms.body.rooms as { room: string }[]).some((r) => r.room === 'ops'),
      JSON.stringify(rooms.body),
    );
    const presence = await eventually(
      async () => {
        const answer = await call(a.metricsUrl, '/api/presence?room=ops');
        assert.equal(answer.body.count, 1);
        return answer;
      },
      { what: 'the member in /api/presence' },
    );
    assert.deepEqual(
      (presence.body.members as { id: string }[]).map((m) => m.id),
      [member.id],
    );
    const history = await call(a.metricsUrl, '/api/history?room=ops&limit=10');
    assert.deepEqual(
      (history.body.lines as { message: string }[]).map((l) => l.message),
      ['first words in ops'],
    );
  });

  it('asks every node to close a user’s connections, and hears from all three', async () => {
    const [a] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const answer = await call(a.metricsUrl, '/api/disconnect', { user: 'user-42' });
    assert.deepEqual(answer.body, { user: 'user-42', nodes: 3, connections: 0 });
    for (const node of nodes) {
      await node.logs.waitFor((l) => l.msg === 'closed the connections of a user the backend disconnected', 10_000, 'the request');
    }
    assert.ok(!JSON.stringify(nodes.map((n) => n.logs.items)).includes('user-42'), "the application's user id is not logged");
  });

  it('accepts either key during a rotation; refuses a wrong one (401), bad input (400) and a long body (413)', async () => {
    const base = nodes[1]!.metricsUrl;
    assert.equal((await call(base, '/api/rooms', undefined, { Authorization: `Bearer ${KEYS.old}` })).status, 200);
    const wrong = await call(base, '/api/rooms', undefined, { Authorization: 'Bearer guessed' });
    assert.deepEqual([wrong.status, wrong.body.error], [401, 'UNAUTHORIZED']);
    const bad = await call(base, '/api/publish', { room: 'lobby', text: 42 });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /^text: /);
    const long = await call(base, '/api/publish', { room: 'lobby', text: 'x'.repeat(2_000) });
    assert.deepEqual([long.status, long.body.error], [413, 'PAYLOAD_TOO_LARGE']);
  });

  it('counts its requests by route and outcome in switchboard_api_requests_total, any other path as `other`', async () => {
    const base = nodes[2]!.metricsUrl;
    const counted = async (route: string, outcome: string) =>
      (await scrape(`${base}/metrics`)).value('switchboard_api_requests_total', { route, outcome });
    const before = {
      ok: await counted('/api/publish', 'ok'),
      bad: await counted('/api/publish', 'bad_request'),
      unauthorized: await counted('/api/rooms', 'unauthorized'),
      other: await counted('other', 'not_found'),
      method: await counted('/api/history', 'method_not_allowed'),
    };
    assert.equal(before.unauthorized, 0, 'every series is there from the start, at 0');
    assert.equal((await call(base, '/api/publish', { room: 'lobby', text: 'counted' })).status, 200);
    assert.equal((await call(base, '/api/publish', { room: 'lobby', text: 'counted again' })).status, 200);
    assert.equal((await call(base, '/api/publish', { room: 'lobby' })).status, 400);
    assert.equal((await call(base, '/api/rooms', undefined, { Authorization: 'Bearer guessed' })).status, 401);
    assert.equal((await call(base, '/api/no-such-route?secret=1')).status, 404);
    assert.equal((await call(base, '/api/history', {})).status, 405);
    assert.deepEqual(
      {
        ok: (await counted('/api/publish', 'ok')) - before.ok,
        bad: (await counted('/api/publish', 'bad_request')) - before.bad,
        unauthorized: (await counted('/api/rooms', 'unauthorized')) - before.unauthorized,
        other: (await counted('other', 'not_found')) - before.other,
        method: (await counted('/api/history', 'method_not_allowed')) - before.method,
      },
      { ok: 2, bad: 1, unauthorized: 1, other: 1, method: 1 },
    );
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.ok(!text.includes('no-such-route'), 'an unknown path is no label value');
  });
});

/**
 * The same on a 3-master Redis Cluster: a room's Idempotency-Key lives in its
 * room's slot (taken atomically with the seq there), and a disconnect, whose
 * PUBLISH cannot count the listeners of other shards, still hears from every node.
 */
describe('the backend API on two gateways over a Redis Cluster', { timeout: 180_000 }, () => {
  let cluster: RedisCluster;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    cluster = await RedisCluster.start();
    const env = { REDIS_CLUSTER: cluster.seeds, METRICS_PORT: '0', API_KEY: KEYS.current };
    nodes = await Promise.all(['apc-a', 'apc-b'].map((id) => GatewayProcess.start({ env: { ...env, NODE_ID: id } })));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await cluster?.dispose();
  });

  it('delivers one line for one Idempotency-Key sent to both nodes at once, in rooms on different shards', async () => {
    for (const room of ['lobby', 'ops', 'team-a']) {
      const headers = { 'Idempotency-Key': `k-${room}` };
      const answers = await Promise.all(nodes.map((n) => call(n.metricsUrl, '/api/publish', { room, text: 'x', from: 'Ops' }, headers)));
      assert.deepEqual(answers[0]!.body, answers[1]!.body, room);
      const history = await call(nodes[0]!.metricsUrl, `/api/history?room=${room}`);
      assert.equal((history.body.lines as unknown[]).length, 1, `${room}: one line`);
    }
  });

  it('hears from every node on a disconnect', async () => {
    const answer = await call(nodes[1]!.metricsUrl, '/api/disconnect', { user: 'someone' });
    assert.deepEqual(answer.body, { user: 'someone', nodes: 2, connections: 0 });
  });
});

/**
 * With identity on: `POST /api/disconnect` closes every connection of that
 * user (its token's `sub`) on every node with 4011, and no one else's.
 */
describe('the backend API disconnecting a signed-in user on three gateways', { timeout: 120_000 }, () => {
  const SECRET = 'a-test-secret-of-at-least-32-bytes-long!!';
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, METRICS_PORT: '0', API_KEY: KEYS.current, AUTH_JWT_SECRET: SECRET };
    nodes = await Promise.all(['kick-a', 'kick-b', 'kick-c'].map((id) => GatewayProcess.start({ env: { ...env, NODE_ID: id } })));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it("closes each of the user's connections, on every node, with 4011, and no one else's", async () => {
    const { hsToken } = await import('./identity-helpers.js');
    const connect = async (node: GatewayProcess, sub: string) =>
      ChatClient.connect(`${node.wsUrl}?token=${encodeURIComponent(await hsToken(SECRET, { sub }))}`);
    const ada = await Promise.all(nodes.map((n) => connect(n, 'ada')));
    const bob = await connect(nodes[1]!, 'bob');
    await Promise.all([...ada, bob].map((c) => c.barrier()));
    const answer = await call(nodes[0]!.metricsUrl, '/api/disconnect', { user: 'ada' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.connections, 3, JSON.stringify(answer.body));
    const codes = await Promise.all(ada.map((c) => c.closed));
    assert.deepEqual(
      codes.map((c) => c.code),
      [4011, 4011, 4011],
    );
    bob.send('still here');
    await bob.waitForMessage('message', 'still here');
    await bob.close();
  });
});

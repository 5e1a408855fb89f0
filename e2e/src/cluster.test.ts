import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ClusterSnapshot } from '@switchboard/protocol';
import { ChatClient, eventually, httpGet, parsePrometheusText, within, type CloseInfo } from '@switchboard/testkit';
import { openTarget, type Target } from './target.js';

/** A connection through the balancer may be retried on another gateway: allow for it. */
const CONNECT_TIMEOUT_MS = 15_000;
const FRAME_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 120_000;
/**
 * Waiting for the balancer to send clients to a gateway (one it has just found,
 * or checked for the first time): at most this many more connections, this long,
 * this far apart.
 */
const SPREAD_MAX_CONNECTIONS = 120;
const SPREAD_DEADLINE_MS = 60_000;
const SPREAD_RETRY_MS = 250;
/** Waiting for the admin listener to see every gateway (HAProxy checks and each node's record, every second): this long, this far apart. */
const ADMIN_WAIT_MS = 30_000;
const ADMIN_POLL_MS = 250;

let target: Target;
/** Every client the suite opened, to close at the end. */
const opened: ChatClient[] = [];
let sequence = 0;

function unique(label: string): string {
  return `e2e-${label}-${process.pid}-${++sequence}`;
}

async function connect(): Promise<ChatClient> {
  const client = await ChatClient.connect(target.wsUrl, { timeoutMs: CONNECT_TIMEOUT_MS, ca: target.ca });
  opened.push(client);
  return client;
}

function isOpen(client: ChatClient): boolean {
  return client.socket.readyState === client.socket.OPEN;
}

/** Send `line` from `sender` and wait until every one of `receivers` has it. */
async function deliver(sender: ChatClient, line: string, receivers: readonly ChatClient[]): Promise<void> {
  sender.send(line);
  await Promise.all(receivers.map((c) => c.waitForMessage('message', line, FRAME_TIMEOUT_MS)));
}

/**
 * Connect more clients until `enough(list)` stops throwing, within the SPREAD_
 * bounds; they stay connected, so least-connections favours a gateway that has
 * none yet. A connect that fails is not retried: it fails the test.
 */
async function connectUntil(list: ChatClient[], what: string, enough: (list: readonly ChatClient[]) => void): Promise<void> {
  const most = list.length + SPREAD_MAX_CONNECTIONS;
  let checked = false;
  let refused: { err: unknown } | undefined;
  await eventually(
    async () => {
      if (checked && list.length < most) {
        try {
          list.push(await connect());
        } catch (err) {
          refused = { err };
          return true;
        }
      }
      checked = true;
      enough(list);
      return true;
    },
    { timeoutMs: SPREAD_DEADLINE_MS, intervalMs: SPREAD_RETRY_MS, what },
  );
  if (refused) throw refused.err;
}

function closedWithin(client: ChatClient, ms: number): Promise<CloseInfo> {
  return within(client.closed, ms, `the client on ${client.node} to be dropped`);
}

function nodesOf(list: readonly ChatClient[]): Set<string> {
  return new Set(list.map((c) => c.node));
}

/**
 * A test's own clients, on at least two nodes: each test opens its own, so any
 * one of them can run alone or in any order.
 */
async function crowd(): Promise<ChatClient[]> {
  const list: ChatClient[] = [];
  for (let i = 0; i < target.gateways * 2; i++) list.push(await connect());
  await connectUntil(list, 'clients on two gateways', (l) => {
    const nodes = nodesOf(l);
    assert.ok(nodes.size >= 2, `all ${l.length} clients landed on ${[...nodes].join(', ')}`);
  });
  return list;
}

async function closeAll(list: readonly ChatClient[]): Promise<void> {
  await Promise.allSettled(list.map((c) => c.close()));
}

before(async () => {
  target = await openTarget();
  console.error(`e2e: load balancer ${target.httpUrl}, ${target.gateways} gateways`);
});

after(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  await target?.close();
});

describe('the cluster, through the load balancer only', { timeout: TEST_TIMEOUT_MS * 4 }, () => {
  test('clients land on at least two different nodes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clients = await crowd();
    console.error(`e2e: ${clients.length} clients on nodes ${[...nodesOf(clients)].join(', ')}`);
    await closeAll(clients);
  });

  test('a chat line reaches every client on every node', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clients = await crowd();
    for (const sender of [clients[0]!, clients.find((c) => c.node !== clients[0]!.node)!]) {
      await deliver(sender, unique('line'), clients);
    }
    await closeAll(clients);
  });

  test('a /nick change reaches every client on every node', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clients = await crowd();
    const renamer = clients[1]!;
    const name = `n${process.pid % 10_000}x${++sequence}`;
    renamer.send(`/nick ${name}`);
    const text = `Client ${renamer.welcome.nickname} changed to ${name}`;
    const updates = await Promise.all(clients.map((c) => c.waitForMessage('nick_update', text, FRAME_TIMEOUT_MS)));
    for (const update of updates) assert.equal(update.nickname, name);
    // The new name is used from then on, on every node.
    const line = unique('renamed');
    renamer.send(line);
    const echoes = await Promise.all(clients.map((c) => c.waitForMessage('message', line, FRAME_TIMEOUT_MS)));
    for (const echo of echoes) assert.equal(echo.nickname, name);
    await closeAll(clients);
  });

  test('connect and disconnect notices reach every client on every node', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clients = await crowd();
    const visitor = await connect();
    const nick = visitor.welcome.nickname;
    await Promise.all(clients.map((c) => c.waitForMessage('notification', `${nick} has connected`, FRAME_TIMEOUT_MS)));
    await visitor.close();
    await Promise.all(clients.map((c) => c.waitForMessage('notification', `${nick} has disconnected`, FRAME_TIMEOUT_MS)));
    await closeAll(clients);
  });

  test(
    "a line said in a room reaches that room's members on every node, and no one in another room",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const clients = await crowd();
      // Two rooms, members taken in turn, so a node that serves one usually serves both
      // (on a Redis Cluster the two rooms usually live on different shards).
      const rooms = [unique('a'), unique('b')];
      const members = rooms.map((_, r) => clients.filter((_, i) => i % rooms.length === r));
      await Promise.all(
        clients.map(async (client, i) => {
          const room = rooms[i % rooms.length]!;
          client.send(`/join ${room}`);
          await client.waitFor((f) => f.type === 'joined' && f.room === room, `joined ${room}`, FRAME_TIMEOUT_MS);
        }),
      );
      const [inA, inB] = members as [ChatClient[], ChatClient[]];
      const lineA = unique('in-a');
      inA[0]!.send(lineA);
      const echoes = await Promise.all(inA.map((c) => c.waitForMessage('message', lineA, FRAME_TIMEOUT_MS)));
      for (const echo of echoes) assert.equal(echo.room, rooms[0]);
      await deliver(inB.at(-1)!, unique('in-b'), inB);
      // A node hands an event to all its local members of the room at once: a member of
      // the other room on a node whose members of the first have the line would have it too.
      const shared = inB.filter((b) => inA.some((a) => a.node === b.node));
      assert.ok(shared.length > 0, 'no node serves both rooms');
      for (const c of inB) {
        const leaked = c.events.find((e) => e.room === rooms[0]);
        assert.equal(leaked, undefined, `a member of ${rooms[1]} on ${c.node} got an event of ${rooms[0]}: ${JSON.stringify(leaked)}`);
      }
      await closeAll(clients);
    },
  );

  test('GET / serves the chat page', { timeout: TEST_TIMEOUT_MS }, async () => {
    const response = await httpGet(`${target.httpUrl}/`, { ca: target.ca });
    assert.equal(response.status, 200);
    assert.match(response.headers['content-type'] ?? '', /text\/html/);
    assert.match(response.body, /<html/i);
  });

  test('the public frontend serves no metrics: /metrics and /cluster.json are 404 there', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal((await httpGet(`${target.httpUrl}/metrics`, { ca: target.ca })).status, 404);
    assert.equal((await httpGet(`${target.httpUrl}/cluster.json`, { ca: target.ca })).status, 404);
  });

  test(
    "the admin listener serves HAProxy's Prometheus metrics, and the dashboard and report of every gateway",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const admin = target.adminUrl;
      if (!admin) {
        t.skip(target.cannot.admin);
        return;
      }
      // HAProxy checks every second and each node writes its record every second: poll, bounded.
      const active = (m: ReturnType<typeof parsePrometheusText>) => m.value('haproxy_backend_active_servers', { proxy: 'gateways' });
      const metrics = await eventually(
        async () => {
          const m = parsePrometheusText(await (await fetch(`${admin}/metrics`)).text());
          assert.ok(active(m) >= target.gateways, `haproxy_backend_active_servers: ${active(m)}`);
          return m;
        },
        { timeoutMs: ADMIN_WAIT_MS, intervalMs: ADMIN_POLL_MS, what: 'every gateway UP behind the balancer' },
      );
      assert.ok(metrics.types.has('haproxy_frontend_current_sessions'));
      const page = await fetch(`${admin}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      const report = await eventually(
        async () => {
          const r = (await (await fetch(`${admin}/cluster.json`)).json()) as ClusterSnapshot;
          const ready = r.nodes.length >= target.gateways && r.nodes.every((n) => n.ready);
          assert.ok(ready, JSON.stringify(r.nodes.map((n) => [n.node, n.ready])));
          return r;
        },
        { timeoutMs: ADMIN_WAIT_MS, intervalMs: ADMIN_POLL_MS, what: 'every gateway in /cluster.json, ready' },
      );
      assert.equal(new Set(report.nodes.map((n) => n.node)).size, report.nodes.length);
    },
  );

  test('a gateway added behind the running balancer receives new connections', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!target.scaleUp) {
      t.skip(target.cannot.scaleUp);
      return;
    }
    const clients = await crowd();
    // Know every gateway there is now, so that a node never seen is the new one.
    await connectUntil(clients, 'clients on every gateway', (list) => {
      assert.ok(nodesOf(list).size >= target.gateways, `saw only ${[...nodesOf(list)].join(', ')} of ${target.gateways} gateways`);
    });
    const before = nodesOf(clients);
    assert.equal(before.size, target.gateways, `saw only ${[...before].join(', ')} of ${target.gateways} gateways`);

    await target.scaleUp();

    const fresh: ChatClient[] = [];
    await connectUntil(fresh, 'a connection on the new gateway', (list) => {
      assert.ok(
        list.some((c) => !before.has(c.node)),
        `none of ${list.length} new connections landed on a new gateway`,
      );
    });
    const newcomer = fresh.find((c) => !before.has(c.node))!;
    console.error(`e2e: new gateway ${newcomer.node} serves new connections (${fresh.length} connections after the scale-up)`);

    // Clients connected before the scale-up are still there: no balancer restart cut them.
    assert.ok(clients.every(isOpen), 'a client connected before the scale-up was dropped');
    await deliver(newcomer, unique('from-new-node'), [...clients, newcomer]);
    await deliver(clients[0]!, unique('to-new-node'), [newcomer]);
    await closeAll([...clients, ...fresh]);
  });

  test(
    'a gateway killed with SIGKILL drops its clients; the others keep chatting; reconnects land on live nodes',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!target.kill) {
        t.skip(target.cannot.kill);
        return;
      }
      const live = await crowd();
      const victim = live[0]!.node;
      const dropped = live.filter((c) => c.node === victim);
      const survivors = live.filter((c) => c.node !== victim);
      assert.ok(survivors.length > 0, 'no client on another node');

      await target.kill(victim);
      await Promise.all(dropped.map((c) => closedWithin(c, FRAME_TIMEOUT_MS)));
      assert.ok(survivors.every(isOpen), 'a client of another node was dropped too');
      await deliver(survivors[0]!, unique('after-kill'), survivors);

      // Reconnect at once, before health checks have caught up, and more times than
      // there are gateways: the balancer must retry or redispatch, never hand out
      // the dead one.
      const reconnects = Math.max(dropped.length, target.gateways + 1);
      const back: ChatClient[] = [];
      for (let i = 0; i < reconnects; i++) {
        const client = await connect();
        assert.notEqual(client.node, victim, `reconnect ${i + 1} landed on the killed gateway`);
        back.push(client);
      }
      console.error(`e2e: killed ${victim}; ${back.length} reconnects landed on ${[...nodesOf(back)].join(', ')}`);
      await deliver(back[0]!, unique('reconnected'), [...survivors, ...back]);
      await deliver(survivors[0]!, unique('welcome-back'), back);
      await closeAll([...survivors, ...back]);
    },
  );
});

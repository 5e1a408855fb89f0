import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '@switchboard/protocol';
import { ChatClient, GatewayProcess } from '@switchboard/testkit';
import { chatScenarios, limitsOf } from './chat-scenarios.js';

/** Longest wait for a log line or a notice that follows a timeout, in ms (generous: CI machines are busy). */
const LOG_WAIT_MS = 15_000;

describe('one gateway on the in-memory bus (no Redis)', () => {
  let node: GatewayProcess;

  before(async () => {
    // A frame limit that is not the default: the scenarios must follow the node's limit, not assume 512.
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'solo', MAX_MESSAGE_BYTES: '301' } });
  });

  after(async () => {
    await node?.kill();
  });

  chatScenarios(() => node.wsUrl);

  it('serves the chat page at / and refuses other methods there with 405', async () => {
    const page = await fetch(`${node.httpUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<html/i);
    const post = await fetch(`${node.httpUrl}/`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('answers 404 for unknown paths and for upgrades anywhere but /ws', async () => {
    assert.equal((await fetch(`${node.httpUrl}/no-such-page`)).status, 404);
    await assert.rejects(ChatClient.connect(`ws://127.0.0.1:${node.port}/elsewhere`), /404/);
  });

  it('reports health and readiness', async () => {
    const health = await fetch(`${node.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${node.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  it('refuses an empty line with an error and broadcasts nothing', async () => {
    const client = await ChatClient.connect(node.wsUrl);
    client.send('   ');
    const error = await client.waitFor((f) => f.type === 'error', 'an error');
    assert.equal((error as { code: string }).code, ErrorCode.EMPTY_MESSAGE);
    await client.close();
  });
});

describe('per-connection limits', () => {
  it('drops a client that stops answering pings, and tells the others', async () => {
    const node = await GatewayProcess.start({ env: { PING_INTERVAL_MS: '200', PONG_TIMEOUT_MS: '2000' } });
    try {
      const healthy = await ChatClient.connect(node.wsUrl);
      const silent = await ChatClient.connect(node.wsUrl, { autoPong: false });
      await healthy.waitForMessage('notification', `${silent.welcome.nickname} has disconnected`, LOG_WAIT_MS);
      const joined = await node.logs.waitFor((l) => l.msg === 'joined' && l.id === silent.id, LOG_WAIT_MS, 'the join log line');
      await node.logs.waitFor((l) => l.reason === 'HEARTBEAT_TIMEOUT' && l.conn === joined.conn, LOG_WAIT_MS, 'the log line');
      // The client that answers pings outlived several intervals and is still served.
      healthy.send('still alive');
      await healthy.waitForMessage('message', 'still alive');
      await healthy.close();
    } finally {
      await node.kill();
    }
  });

  it('closes a slow consumer with 4001 when its buffer passes the budget; the others keep getting every line', async () => {
    const budget = 65_536;
    const node = await GatewayProcess.start({
      env: { MAX_BUFFERED_BYTES: String(budget), MESSAGE_RATE_PER_SEC: '100000', MESSAGE_BURST: '100000' },
    });
    try {
      const sender = await ChatClient.connect(node.wsUrl);
      const reader = await ChatClient.connect(node.wsUrl);
      const stalled = await ChatClient.connect(node.wsUrl);
      stalled.stallReading();
      const gone = reader.waitForMessage('notification', `${stalled.welcome.nickname} has disconnected`, 60_000);
      let stalledIsGone = false;
      void gone.then(
        () => (stalledIsGone = true),
        () => undefined,
      );
      // Lines of about 400 bytes fill the buffer quickly; never past the node's limit (room left for the counter).
      const payload = 'y'.repeat(Math.min(400, limitsOf(sender).maxMessageBytes - 8));
      let sent = 0;
      // Bounded: at most 200 batches of 100 lines (about 10 MB), until the stalled client is dropped.
      for (let batch = 0; batch < 200 && !stalledIsGone; batch++) {
        for (let i = 0; i < 100; i++) sender.send(`${payload} ${sent++}`);
        await reader.waitForMessage('message', `${payload} ${sent - 1}`);
      }
      await gone;
      const joined = await node.logs.waitFor((l) => l.msg === 'joined' && l.id === stalled.id, LOG_WAIT_MS, 'the join log line');
      const line = await node.logs.waitFor((l) => l.conn === joined.conn && /slow consumer/.test(l.msg), LOG_WAIT_MS, 'the log line');
      assert.equal(line.budget, budget);
      // Every line reached the reader, in order.
      const got = reader.frames.items.filter((f) => f.type === 'message').map((f) => f.message);
      assert.equal(got.length, sent);
      assert.equal(got.at(-1), `${payload} ${sent - 1}`);
      await Promise.all([sender.close(), reader.close()]);
      stalled.drop();
    } finally {
      await node.kill();
    }
  });

  it('refuses lines past the rate limit with RATE_LIMITED and broadcasts only the allowed ones', async () => {
    const env = { MESSAGE_RATE_PER_SEC: '1', MESSAGE_BURST: '3' };
    const node = await GatewayProcess.start({ env });
    try {
      const client = await ChatClient.connect(node.wsUrl);
      const { messageBurst } = limitsOf(client);
      assert.equal(messageBurst, Number(env.MESSAGE_BURST), 'the welcome carries the configured burst');
      const sent = messageBurst + 7;
      for (let i = 0; i < sent; i++) client.send(`burst ${i}`);
      await client.waitForMessage('message', `burst ${messageBurst - 1}`);
      await client.waitFor((f) => f.type === 'error' && (f as { code: string }).code === ErrorCode.RATE_LIMITED, 'RATE_LIMITED');
      // Each line gets one answer, its echo or an error; the rest may still be on their way.
      const answered = () => client.frames.items.filter((f) => f.type === 'message' || f.type === 'error').length;
      await client.waitFor(() => answered() >= sent, `an answer to each of the ${sent} lines`);
      await client.close();
      const delivered = client.frames.items.filter((f) => f.type === 'message').length;
      const refused = client.frames.items.filter((f) => f.type === 'error').length;
      assert.ok(delivered >= messageBurst && delivered < sent, `delivered ${delivered}`);
      assert.equal(delivered + refused, sent, 'every line was either delivered or refused with an error');
    } finally {
      await node.kill();
    }
  });
});

describe('a gateway logging at info (the default)', () => {
  it('writes one line per connection: when it closes, with who it was, from where and for how long', async () => {
    const node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'quiet', LOG_LEVEL: 'info' } });
    try {
      const mark = node.logs.items.length;
      const client = await ChatClient.connect(node.wsUrl);
      client.send('/nick quietly');
      await client.waitForMessage('nick_update', 'Client AnonymousUser1 changed to quietly');
      client.send('/join elsewhere');
      await client.waitFor((f) => f.type === 'joined', 'the joined answer');
      client.send('a line');
      await client.waitForMessage('message', 'a line');
      await client.close();
      const closed = await node.logs.waitFor((l) => l.msg === 'connection closed', LOG_WAIT_MS, 'the close logged', mark);
      assert.equal(closed.nickname, 'quietly');
      assert.equal(closed.id, client.welcome.id);
      assert.equal(closed.protocol, 'v1');
      assert.equal(closed.remote, '127.0.0.1');
      assert.equal(typeof closed.seconds, 'number');
      assert.deepEqual(
        node.logs.items
          .slice(mark)
          .filter((l) => l.conn === closed.conn)
          .map((l) => l.msg),
        ['connection closed'],
        'one line for the whole connection: opened, joined, renamed, moved and left are at debug',
      );
    } finally {
      await node.kill();
    }
  });
});

describe('configuration errors', () => {
  it('exits with status 2 and names the bad setting', async () => {
    const { spawnSync } = await import('node:child_process');
    const { GATEWAY_ENTRY } = await import('@switchboard/testkit');
    const run = spawnSync(process.execPath, [GATEWAY_ENTRY], { env: { ...process.env, MAX_MESSAGE_BYTES: 'lots' }, encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /MAX_MESSAGE_BYTES must be a whole number/);
    const help = spawnSync(process.execPath, [GATEWAY_ENTRY, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /PONG_TIMEOUT_MS/);
  });

  it('exits with status 3 and one sentence naming the setting when its port, or its metrics port, is in use', async () => {
    const { spawnSync } = await import('node:child_process');
    const { createServer } = await import('node:net');
    const { GATEWAY_ENTRY } = await import('@switchboard/testkit');
    const holder = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    const held = (holder.address() as { port: number }).port;
    try {
      for (const [env, setting] of [
        [{ HOST: '127.0.0.1', PORT: String(held) }, 'PORT'],
        [{ HOST: '127.0.0.1', PORT: '0', METRICS_HOST: '127.0.0.1', METRICS_PORT: String(held) }, 'METRICS_PORT'],
      ] as const) {
        const run = spawnSync(process.execPath, [GATEWAY_ENTRY], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
        assert.equal(run.status, 3, run.stderr);
        assert.equal(run.stdout, '', 'nothing was started, so nothing logged');
        assert.match(
          run.stderr,
          new RegExp(
            `^switchboard-gateway: port ${held} of 127\\.0\\.0\\.1 is in use .*: choose another with ${setting}, e\\.g\\. \`${setting}=\\d+ npm start\``,
          ),
        );
        assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
      }
    } finally {
      holder.close();
    }
  });
});

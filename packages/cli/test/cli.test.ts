import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ChatClient, GatewayProcess, RedisServer, freePort, makeTestCertificates, type TestCertificates } from '@switchboard/testkit';
import { CLIENT_SETTINGS, DEFAULT_URL, STATUS_SETTINGS, USAGE, UsageError, parseArgs } from '../src/args.js';
import { chatLine, safeText } from '../src/format.js';
import { BIN, runCli } from './run-cli.js';

const WAIT_MS = 15_000;

describe('switchboard command line', () => {
  it('reads `client NAME [--url URL]`, `server [flags]` and help', () => {
    assert.deepEqual(parseArgs(['client', 'ada'], {}), { kind: 'client', nickname: 'ada', url: DEFAULT_URL });
    assert.deepEqual(parseArgs(['client', '--url', 'ws://h:1/ws', 'ada'], {}), { kind: 'client', nickname: 'ada', url: 'ws://h:1/ws' });
    assert.deepEqual(parseArgs(['client', 'ada', '--url=ws://h:2/ws'], {}), { kind: 'client', nickname: 'ada', url: 'ws://h:2/ws' });
    assert.deepEqual(parseArgs(['client', 'ada'], { SWITCHBOARD_URL: 'ws://env/ws' }), {
      kind: 'client',
      nickname: 'ada',
      url: 'ws://env/ws',
    });
    assert.deepEqual(parseArgs(['server', '--port', '0'], {}), { kind: 'server', args: ['--port', '0'] });
    assert.deepEqual(parseArgs([], {}), { kind: 'help' });
    assert.throws(() => parseArgs(['client'], {}), /client needs exactly one NAME/);
    assert.throws(() => parseArgs(['client', 'a', '--url'], {}), /--url needs a value/);
    assert.throws(() => parseArgs(['client', 'a', '--loud'], {}), /unknown option "--loud"/);
    assert.throws(() => parseArgs(['serve'], {}), /unknown command "serve"/);
  });

  it('reads `--ca FILE` and `--ca=FILE` beside --url, in any order', () => {
    assert.deepEqual(parseArgs(['client', 'ada', '--ca', '/etc/ca.pem'], {}), {
      kind: 'client',
      nickname: 'ada',
      url: DEFAULT_URL,
      ca: '/etc/ca.pem',
    });
    assert.deepEqual(parseArgs(['client', '--ca=/c.pem', '--url', 'wss://h/ws', 'ada'], {}), {
      kind: 'client',
      nickname: 'ada',
      url: 'wss://h/ws',
      ca: '/c.pem',
    });
    assert.throws(() => parseArgs(['client', 'a', '--ca'], {}), /--ca needs a value/);
  });

  it('refuses a bad --url, or a bad $SWITCHBOARD_URL, naming it, and an empty --ca', () => {
    assert.throws(
      () => parseArgs(['client', 'ada', '--url', 'http://h/ws'], {}),
      new UsageError('--url must be a ws:// or wss:// URL, got "http://h/ws"'),
    );
    assert.throws(
      () => parseArgs(['client', 'ada'], { SWITCHBOARD_URL: 'localhost:8080' }),
      new UsageError('SWITCHBOARD_URL must be a ws:// or wss:// URL, got "localhost:8080"'),
    );
    assert.equal((parseArgs(['client', 'ada'], { SWITCHBOARD_URL: '' }) as { url: string }).url, DEFAULT_URL, 'an empty variable is unset');
    assert.throws(() => parseArgs(['client', 'ada', '--ca='], {}), new UsageError('--ca must not be empty'));
  });

  it('takes a NAME that looks like a flag after --, and answers --help after the command', () => {
    assert.deepEqual(parseArgs(['client', '--', '-ada-'], {}), { kind: 'client', nickname: '-ada-', url: DEFAULT_URL });
    assert.deepEqual(parseArgs(['client', 'ada', '-h'], {}), { kind: 'help' });
    assert.deepEqual(parseArgs(['status', '--help'], {}), { kind: 'help' });
  });

  it('lists every option of client and status in the usage, with its variable, default and what it accepts', () => {
    for (const s of [...Object.values(CLIENT_SETTINGS), ...Object.values(STATUS_SETTINGS)]) {
      const at = USAGE.indexOf(s.env === undefined ? `  ${s.flag} ` : `  ${s.flag} / ${s.env} `);
      assert.ok(at !== -1, `${s.flag} is in the usage`);
      const entry = USAGE.slice(at).split('\n').slice(0, 2).join('\n');
      assert.ok(
        entry.includes(`default: ${s.defaultDoc.replaceAll('`', '')}`) && entry.includes(s.expects),
        `${s.flag}: its default and accepted values`,
      );
    }
    assert.match(USAGE, /--url \/ SWITCHBOARD_URL +.*\n +default: ws:\/\/localhost:8080\/ws; a ws:\/\/ or wss:\/\/ URL\n/);
  });

  it("prints other people's text with every control character defused", () => {
    assert.equal(safeText('red \x1b[31m bell \x07 rtl \u202e end'), 'red \uFFFD[31m bell \uFFFD rtl \uFFFD end');
    const line = chatLine({ type: 'message', id: 'x', nickname: 'a\x1bb', message: 'hi\r\nthere', time: Date.UTC(2026, 0, 1) } as never);
    assert.match(line ?? '', /^\[\d\d:\d\d:\d\d\] <a\uFFFDb> hi\uFFFD\uFFFDthere$/);
  });

  it('exits with status 2 and the usage on a bad command line', async () => {
    const cli = runCli(['client']);
    assert.equal(await cli.exit, 2);
    await cli.err.waitFor((l) => l.includes('client needs exactly one NAME'), WAIT_MS, 'the usage error');
    await cli.err.waitFor((l) => l.includes('switchboard client NAME'), WAIT_MS, 'the usage');
  });
});

describe('switchboard client, driven through a pipe against a real gateway', () => {
  let node: GatewayProcess;
  let bob: ChatClient;

  before(async () => {
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'cli-node' } });
    bob = await ChatClient.connect(node.wsUrl);
  });

  after(async () => {
    await bob?.close();
    await node?.kill();
  });

  it('takes its name, prints lines with nick and time, sends stdin lines and /nick, and exits 0 on end of input', async () => {
    const cli = runCli(['client', 'alice', '--url', node.wsUrl]);
    const joined = await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'alice', 'alice to take her name');
    await cli.err.waitFor(
      (l) => l === '* connected to node cli-node as ' + (joined as { previous: string }).previous,
      WAIT_MS,
      'the connected status',
    );
    await cli.out.waitFor((l) => / \* Client \S+ changed to alice$/.test(l), WAIT_MS, 'her own rename');

    bob.send('hi alice \x1b[2J <b>bold</b>');
    const heard = await cli.out.waitFor((l) => l.includes('hi alice'), WAIT_MS, "bob's line");
    assert.match(heard, new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] <${bob.welcome.nickname}> hi alice \uFFFD\\[2J <b>bold</b>$`));

    cli.child.stdin.write('hello bob\n');
    const said = await bob.waitFor((f) => f.type === 'message' && f.message === 'hello bob', "alice's line");
    assert.equal(said.nickname, 'alice');

    cli.child.stdin.write('/nick alice2\n');
    await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'alice2', 'the /nick rename');

    cli.child.stdin.write('/nick\n');
    await cli.err.waitFor((l) => l.includes('Usage: /nick NAME'), WAIT_MS, 'the refusal of a bare /nick');

    cli.child.stdin.end('last words\n');
    await bob.waitFor((f) => f.type === 'message' && f.message === 'last words', 'the line just before end of input');
    assert.equal(await cli.exit, 0);
    await bob.waitForMessage('notification', 'alice2 has disconnected');
  });

  it('exits 0 on Ctrl-C (SIGINT) and the others see it leave', async () => {
    const cli = runCli(['client', 'carol', '--url', node.wsUrl]);
    await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'carol', 'carol to take her name');
    cli.child.kill('SIGINT');
    assert.equal(await cli.exit, 0);
    await bob.waitForMessage('notification', 'carol has disconnected');
  });

  it('sends lines typed before the connection is up once it is', async () => {
    const cli = runCli(['client', 'dave', '--url', node.wsUrl]);
    cli.child.stdin.end('early bird\n');
    const said = await bob.waitFor((f) => f.type === 'message' && f.message === 'early bird', "dave's early line");
    assert.equal(said.nickname, 'dave');
    assert.equal(await cli.exit, 0);
  });
});

describe('switchboard client that cannot connect', () => {
  it('says the connection is refused, retries, and exits 1 on Ctrl-C since it never connected', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/ws`;
    const cli = runCli(['client', 'rex', '--url', url]);
    const escaped = url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    await cli.err.waitFor(
      (l) => new RegExp(`^\\* cannot connect to ${escaped}: connection refused \\(retrying in \\d+\\.\\d s\\)$`).test(l),
      WAIT_MS,
      'the refusal',
    );
    const first = cli.err.items.findIndex((l) => l.startsWith('* cannot connect'));
    await cli.err.waitFor((l) => l.startsWith('* cannot connect'), WAIT_MS, 'a second attempt', first + 1);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exit, 1);
    assert.equal(cli.err.items.at(-1), `* never connected to ${url}`);
    assert.ok(!cli.err.items.some((l) => l.includes('connection lost')), 'never "lost": it never had one');
  });

  it('names the HTTP status a server answers the upgrade with', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (_req, socket: Socket) =>
      socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
    const cli = runCli(['client', 'rex', '--url', url]);
    try {
      await cli.err.waitFor(
        (l) => l.startsWith(`* cannot connect to ${url}: HTTP 503 Service Unavailable on upgrade (retrying in `),
        WAIT_MS,
        'the status',
      );
      cli.child.kill('SIGINT');
      assert.equal(await cli.exit, 1);
    } finally {
      cli.child.kill();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('switchboard client over wss://', () => {
  let certs: TestCertificates;
  let node: GatewayProcess;
  let bob: ChatClient;

  before(async () => {
    certs = await makeTestCertificates();
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'cli-tls', TLS_CERT: certs.certFile, TLS_KEY: certs.keyFile } });
    bob = await ChatClient.connect(node.wsUrl, { ca: certs.ca });
  });

  after(async () => {
    await bob?.close();
    await node?.kill();
    certs?.dispose();
  });

  it('chats through a gateway whose authority it is given with --ca', async () => {
    const cli = runCli(['client', 'tess', '--url', node.wsUrl, '--ca', certs.caFile]);
    await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'tess', 'tess to take her name');
    cli.child.stdin.end('sent over TLS\n');
    const said = await bob.waitFor((f) => f.type === 'message' && f.message === 'sent over TLS', "tess's line");
    assert.equal(said.nickname, 'tess');
    assert.equal(await cli.exit, 0);
  });

  it('does not connect without it: says the certificate is not trusted and how to trust it, keeps retrying, exits 1', async () => {
    const cli = runCli(['client', 'uma', '--url', node.wsUrl]);
    const said = await cli.err.waitFor((l) => l.startsWith('* cannot connect'), WAIT_MS, 'a retry after the refused certificate');
    assert.match(
      said,
      new RegExp(
        `^\\* cannot connect to ${node.wsUrl}: TLS: unable to verify the first certificate \\(--ca FILE trusts its authority\\) \\(retrying in \\d+\\.\\d s\\)$`,
      ),
    );
    assert.ok(!cli.err.items.some((l) => l.includes('connected to node')));
    cli.child.kill('SIGINT');
    assert.equal(await cli.exit, 1);
  });

  it('exits 2 naming --ca when the file cannot be read or holds no certificate', async () => {
    const missing = runCli(['client', 'vic', '--url', node.wsUrl, '--ca', '/no/such/ca.crt']);
    assert.equal(await missing.exit, 2);
    await missing.err.waitFor((l) => l === 'switchboard: --ca: cannot read /no/such/ca.crt (ENOENT)', WAIT_MS, 'the refusal');
    const notPem = runCli(['client', 'vic', '--url', node.wsUrl, '--ca', certs.keyFile]);
    assert.equal(await notPem.exit, 2);
    await notPem.err.waitFor((l) => l.endsWith('switchboard.key holds no PEM certificate'), WAIT_MS, 'the refusal');
  });
});

describe('switchboard client across gateway restarts (protocol v2)', () => {
  let redis: RedisServer;
  let port: number;
  let node: GatewayProcess;
  const start = (env: Record<string, string> = {}) =>
    GatewayProcess.start({ env: { NODE_ID: 'cli-v2', PORT: String(port), RESUME_GRACE_MS: '10000', ...env } });

  before(async () => {
    redis = await RedisServer.start();
    port = await freePort();
  });

  after(async () => {
    await node?.kill();
    await redis?.dispose();
  });

  it('resumes after its node restarts: the same name, the lines it missed, no rename and no notices', async () => {
    node = await start({ REDIS_URL: redis.url });
    const cli = runCli(['client', 'erin', '--url', node.wsUrl]);
    const bob = await ChatClient.connect(node.wsUrl);
    try {
      await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'erin', 'erin to take her name');
      await node.kill();
      await cli.err.waitFor((l) => l.startsWith('* connection lost'), WAIT_MS, 'the lost connection');
      node = await start({ REDIS_URL: redis.url });
      const carol = await ChatClient.connect(node.wsUrl);
      carol.send('said while erin was away');
      await cli.err.waitFor((l) => l === '* resumed on node cli-v2 as erin', WAIT_MS, 'the resume');
      await cli.out.waitFor((l) => l.endsWith('said while erin was away'), WAIT_MS, 'the line she missed');
      cli.child.stdin.end('erin is back\n');
      const back = await carol.waitFor((f) => f.type === 'message' && f.message === 'erin is back', "erin's line");
      assert.equal(back.nickname, 'erin');
      assert.equal(await cli.exit, 0);
      assert.equal(cli.out.items.filter((l) => / \* Client \S+ changed to erin$/.test(l)).length, 1, 'no rename after the resume');
      assert.ok(!carol.events.some((e) => e.type === 'notification' && e.message === 'erin has connected'), 'no connect notice');
      await carol.close();
    } finally {
      await bob.close();
      cli.child.kill();
    }
  });

  it('says it may have missed messages when its session is gone, and takes its name back', async () => {
    await node.kill();
    node = await start({ REDIS_URL: '' }); // in-memory: a restart forgets every session
    const cli = runCli(['client', 'fay', '--url', node.wsUrl]);
    try {
      await cli.out.waitFor((l) => / \* Client \S+ changed to fay$/.test(l), WAIT_MS, 'her first rename');
      const mark = cli.out.items.length;
      await node.kill();
      node = await start({ REDIS_URL: '' });
      await cli.err.waitFor((l) => l === '* reconnected, but you may have missed messages', WAIT_MS, 'the missed-messages notice');
      await cli.out.waitFor((l) => / \* Client AnonymousUser\d+ changed to fay$/.test(l), WAIT_MS, 'her name taken back', mark);
      cli.child.stdin.end();
      assert.equal(await cli.exit, 0);
    } finally {
      cli.child.kill();
    }
  });
});

describe('switchboard server', () => {
  it('runs a gateway that takes flags and serves chat', async () => {
    const node = await GatewayProcess.start({ entry: BIN, args: ['server', '--node-id', 'via-cli'] });
    try {
      const client = await ChatClient.connect(node.wsUrl);
      assert.equal(client.node, 'via-cli');
      await client.close();
      assert.deepEqual(await node.stop('SIGTERM'), { code: 0, signal: null });
    } finally {
      await node.kill();
    }
  });
});

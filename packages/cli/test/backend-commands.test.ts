import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { jwtVerify } from 'jose';
import { ChatClient, GatewayProcess } from '@switchboard/testkit';
import { parseArgs, UsageError } from '../src/args.js';
import { durationSeconds, mintDevToken } from '../src/dev-token.js';
import { BIN } from './run-cli.js';

const SECRET = 'a-development-secret-of-enough-length';
const KEY = 'cli-test-key';

/** Run the CLI to its end with `env` added: exit status, stdout, stderr. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out, err };
}

describe('switchboard token', () => {
  it('reads --sub, --name, --rooms and --ttl, and the secret from AUTH_JWT_SECRET', () => {
    const command = parseArgs(['token', '--sub', 'ada', '--name', 'Ada', '--rooms', 'lobby,team-*', '--ttl', '15m'], {
      AUTH_JWT_SECRET: SECRET,
    });
    assert.deepEqual(command, {
      kind: 'token',
      secret: SECRET,
      claims: { sub: 'ada', name: 'Ada', rooms: ['lobby', 'team-*'], ttlSeconds: 900, issuer: undefined, audience: undefined },
    });
  });

  it('refuses a missing secret, a missing --sub and a bad --ttl with a sentence', () => {
    assert.throws(
      () => parseArgs(['token', '--sub', 'ada'], {}),
      (e) => e instanceof UsageError && /AUTH_JWT_SECRET/.test(e.message),
    );
    assert.throws(() => parseArgs(['token'], { AUTH_JWT_SECRET: SECRET }), /--sub ID/);
    assert.throws(() => parseArgs(['token', '--sub', 'a', '--ttl', 'soon'], { AUTH_JWT_SECRET: SECRET }), /--ttl must be a duration/);
    assert.deepEqual(['90s', '15m', '1h', '7d', '30', '0s', '1w'].map(durationSeconds), [90, 900, 3600, 604_800, 30, undefined, undefined]);
  });

  it('mints an HS256 token the secret verifies, with the claims asked for', async () => {
    const token = await mintDevToken(
      SECRET,
      { sub: 'ada', name: 'Ada', rooms: ['lobby', 'team-*'], ttlSeconds: 3600, audience: 'chat' },
      1_700_000_000_000,
    );
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
      algorithms: ['HS256'],
      audience: 'chat',
      currentDate: new Date(1_700_000_000_000),
    });
    assert.equal(protectedHeader.alg, 'HS256');
    assert.deepEqual(
      { sub: payload.sub, name: payload.name, rooms: payload.rooms, ttl: payload.exp! - payload.iat! },
      { sub: 'ada', name: 'Ada', rooms: ['lobby', 'team-*'], ttl: 3600 },
    );
    await assert.rejects(jwtVerify(token, new TextEncoder().encode('another secret'), { algorithms: ['HS256'] }));
  });

  it('is read by `switchboard client` from SWITCHBOARD_TOKEN', () => {
    const command = parseArgs(['client', 'ada'], { SWITCHBOARD_TOKEN: 'a.b.c' });
    assert.equal(command.kind === 'client' && command.token, 'a.b.c');
  });

  it('prints the token on stdout', async () => {
    const { code, out } = await run(['token', '--sub', 'bob', '--ttl', '1h'], { AUTH_JWT_SECRET: SECRET });
    assert.equal(code, 0);
    const { payload } = await jwtVerify(out.trim(), new TextEncoder().encode(SECRET), { algorithms: ['HS256'] });
    assert.equal(payload.sub, 'bob');
  });
});

describe('switchboard publish and kick, against a gateway', () => {
  let gateway: GatewayProcess;
  let member: ChatClient;

  before(async () => {
    gateway = await GatewayProcess.start({ env: { METRICS_PORT: '0', API_KEY: KEY } });
    member = await ChatClient.connect(gateway.wsUrl);
    await member.barrier();
  });

  after(async () => {
    await member?.close();
    await gateway?.kill();
  });

  it('publishes a line that members of the room see, and says where it landed', async () => {
    const env = { API_URL: gateway.metricsUrl, API_KEY: KEY };
    const { code, out } = await run(['publish', '--room', 'lobby', '--from', 'Ops', 'deploying now'], env);
    assert.equal(code, 0);
    const line = await member.waitForMessage('message', 'deploying now');
    assert.equal(line.nickname, 'Ops');
    assert.equal(out, `published in #lobby at seq ${line.seq} (epoch ${line.epoch})\n`);
  });

  it('kicks a user on every node of the cluster (here one)', async () => {
    const { code, out } = await run(['kick', 'user-7'], { API_URL: gateway.metricsUrl, API_KEY: KEY });
    assert.equal(code, 0);
    assert.equal(out, 'closed 0 connection(s) of user-7 on 1 node(s)\n');
  });

  it('says why the API refused, and exits with 1', async () => {
    const { code, err } = await run(['publish', 'hello'], { API_URL: gateway.metricsUrl, API_KEY: 'wrong' });
    assert.equal(code, 1);
    assert.match(err, /^switchboard publish: 401 UNAUTHORIZED: /);
    const missing = await run(['kick', 'ada'], { API_URL: gateway.metricsUrl });
    assert.equal(missing.code, 2);
    assert.match(missing.err, /needs API_KEY/);
  });
});

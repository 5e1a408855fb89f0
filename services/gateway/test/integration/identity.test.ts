import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { CloseCode, ErrorCode, type ErrorFrame } from '@switchboard/protocol';
import { ChatClient, GatewayProcess, QUIET_GATEWAY_ENV, RedisServer, scrape } from '@switchboard/testkit';
import { hsToken, redisCommands, tryUpgrade, unsignedToken } from './identity-helpers.js';

/**
 * Identity on: a gateway that requires tokens, on a real Redis. Every refused
 * token is a 401 before any Redis command (INFO commandstats, with the node's
 * own housekeeping made rare); a verified token names the user, locks its name,
 * bounds its rooms; a token expires while connected unless refreshed in place.
 */

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const AUDIENCE = 'switchboard-test';
const GRACE_MS = 1_000;
/** MESSAGE_BURST of the HS256 node: lines one user may send at once, across its connections. */
const BURST = 6;

const nowSec = () => Math.floor(Date.now() / 1000);

describe('identity on: tokens at the upgrade, in hello, refreshed, and what they allow', () => {
  let redis: RedisServer;
  let hs: GatewayProcess;
  let rs: GatewayProcess;
  let rsaPublicPem: string;

  before(async () => {
    redis = await RedisServer.start();
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsaPublicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'sb-identity-')), 'public.pem');
    writeFileSync(keyFile, rsaPublicPem);
    [hs, rs] = await Promise.all([
      GatewayProcess.start({
        env: {
          REDIS_URL: redis.url,
          NODE_ID: 'id-hs',
          AUTH_JWT_SECRET: SECRET,
          AUTH_JWT_AUDIENCE: AUDIENCE,
          AUTH_EXPIRY_GRACE_MS: String(GRACE_MS),
          METRICS_PORT: '0',
          MESSAGE_RATE_PER_SEC: '1',
          MESSAGE_BURST: String(BURST),
          ...QUIET_GATEWAY_ENV,
        },
      }),
      GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: 'id-rs', AUTH_JWT_PUBLIC_KEY: keyFile, ...QUIET_GATEWAY_ENV } }),
    ]);
  });

  after(async () => {
    await Promise.all([hs?.stop(), rs?.stop()]);
    await redis?.dispose();
  });

  const port = (gateway: GatewayProcess) => Number(new URL(gateway.wsUrl).port);
  const token = (claims: Record<string, unknown> = {}, ttlSec?: number) =>
    hsToken(SECRET, { sub: 'ada', aud: AUDIENCE, ...claims }, ttlSec);

  async function refusedBeforeRedis(
    gateway: GatewayProcess,
    path: string,
    reason: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    const before = await redisCommands(redis);
    const answer = await tryUpgrade(port(gateway), path, headers);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.reason, reason);
    assert.equal(typeof answer.body.error, 'string');
    assert.equal(await redisCommands(redis), before, `no Redis command for a ${reason} refusal`);
  }

  it('refuses an upgrade without a token with 401 token_missing, before any Redis command', async () => {
    await refusedBeforeRedis(hs, '/ws', 'token_missing');
  });

  it('refuses a token signed with another secret (bad signature), in the query or the Authorization header', async () => {
    const forged = await hsToken('another-secret-another-secret-another', { sub: 'ada', aud: AUDIENCE });
    await refusedBeforeRedis(hs, `/ws?token=${forged}`, 'token_signature');
    await refusedBeforeRedis(hs, '/ws', 'token_signature', { Authorization: `Bearer ${forged}` });
  });

  it('refuses alg none', async () => {
    await refusedBeforeRedis(hs, `/ws?token=${unsignedToken({ sub: 'ada', aud: AUDIENCE, exp: nowSec() + 600 })}`, 'token_algorithm');
  });

  it('refuses an HS256 token signed with the public key of a node that verifies RS256 (algorithm confusion)', async () => {
    const confused = await new SignJWT({ sub: 'ada' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(nowSec() + 600)
      .sign(new TextEncoder().encode(rsaPublicPem));
    await refusedBeforeRedis(rs, `/ws?token=${confused}`, 'token_algorithm');
  });

  it('refuses an expired token, one not valid yet, one for another audience, one without sub, and garbage', async () => {
    await refusedBeforeRedis(hs, `/ws?token=${await token({ exp: nowSec() - 60 })}`, 'token_expired');
    await refusedBeforeRedis(hs, `/ws?token=${await token({ nbf: nowSec() + 600 })}`, 'token_not_yet_valid');
    await refusedBeforeRedis(hs, `/ws?token=${await token({ aud: 'another-app' })}`, 'token_audience');
    await refusedBeforeRedis(hs, `/ws?token=${await hsToken(SECRET, { aud: AUDIENCE })}`, 'token_claims');
    await refusedBeforeRedis(hs, '/ws?token=not.a.jwt', 'token_malformed');
  });

  it('refuses a token whose rooms leave no room to start in', async () => {
    await refusedBeforeRedis(hs, `/ws?token=${await token({ rooms: ['team-*'] })}`, 'token_no_room');
  });

  it('counts each refusal by reason and never logs the token', async () => {
    const secretish = await hsToken('yet-another-secret-yet-another-secret', { sub: 'mallory', aud: AUDIENCE });
    const counted = async () =>
      (await scrape(`${hs.metricsUrl}/metrics`)).value('switchboard_connections_refused_total', { reason: 'token_signature' });
    const before = await counted();
    await refusedBeforeRedis(hs, `/ws?token=${secretish}`, 'token_signature');
    assert.equal((await counted()) - before, 1);
    await hs.logs.waitFor((l) => l.msg === 'upgrade refused' && l.reason === 'token_signature', 10_000, 'the refusal logged');
    assert.ok(!hs.logs.items.some((l) => JSON.stringify(l).includes(secretish)), 'the token is in no log line');
  });

  it('welcomes a valid token: the name claim is the nickname and /nick is refused with NICK_LOCKED', async () => {
    const client = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'ada-locked', name: 'Ada' })}`);
    assert.equal(client.welcome.nickname, 'Ada');
    client.send('/nick Bob');
    const refused = (await client.waitFor((f) => f.type === 'error', 'an error')) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.NICK_LOCKED);
    await client.barrier();
    assert.ok(!client.events.some((e) => e.type === 'nick_update'), 'no rename was broadcast');
    await client.close();
  });

  it('starts in the first allowed room, refuses /join outside the rooms claim with ROOM_FORBIDDEN, lists only allowed rooms', async () => {
    const outsider = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'outsider' })}`);
    outsider.send('/join secret');
    await outsider.waitFor((f) => f.type === 'joined' && f.room === 'secret', 'joined #secret');
    const client = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'teamer', rooms: ['ops', 'team-*'] })}`);
    assert.equal(client.welcome.room, 'ops');
    client.send('/join lobby');
    const refused = (await client.waitFor((f) => f.type === 'error', 'an error')) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.ROOM_FORBIDDEN);
    client.send('/join team-red');
    await client.waitFor((f) => f.type === 'joined' && f.room === 'team-red', 'joined #team-red');
    client.send('/rooms');
    const rooms = await client.waitFor((f) => f.type === 'rooms', 'the rooms');
    assert.ok(rooms.type === 'rooms');
    assert.deepEqual(
      rooms.rooms.map((r) => r.room),
      ['team-red'],
      'only rooms it may join (not #secret, not the lobby)',
    );
    await Promise.all([client.close(), outsider.close()]);
  });

  it('takes the token from a v2 hello, and closes with 4012 TOKEN_INVALID when the hello token is bad', async () => {
    const client = await ChatClient.connect(hs.wsUrl, { hello: { token: await token({ sub: 'v2-user', name: 'Vee' }) } });
    assert.equal(client.welcome.nickname, 'Vee');
    await client.close();
    const refusedHello = await import('ws').then(
      ({ WebSocket }) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(hs.wsUrl, 'switchboard.v2');
          ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', token: 'not.a.jwt' })));
          ws.once('close', (code) => resolve(code));
        }),
    );
    assert.equal(refusedHello, CloseCode.TOKEN_INVALID);
    // A v2 client may also bring a refresh as a frame.
    const v2 = await ChatClient.connect(hs.wsUrl, { hello: { token: await token({ sub: 'v2-user' }) } });
    v2.sendJson({ type: 'refresh', token: await token({ sub: 'not-v2-user' }), ref: 'r1' });
    const refused = (await v2.waitFor((f) => f.type === 'error', 'an error')) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.TOKEN_INVALID);
    assert.equal(refused.ref, 'r1');
    await v2.close();
  });

  it("lets one user's tabs share its name (no NICK_TAKEN against itself) and its message rate, and keeps the name from others", async () => {
    const tab1 = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'tabby', name: 'Tabby' })}`);
    const tab2 = await ChatClient.connect(hs.wsUrl, { hello: { token: await token({ sub: 'tabby', name: 'Tabby' }) } });
    assert.equal(tab1.welcome.nickname, 'Tabby');
    assert.equal(tab2.welcome.nickname, 'Tabby');
    const impostor = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'not-tabby', name: 'tabby' })}`);
    assert.notEqual(impostor.welcome.nickname.toLowerCase(), 'tabby', 'another user does not get the name');
    // The burst is the user's, not each tab's: a burst from one tab and one line from the other are one too many.
    for (let i = 0; i < BURST; i++) tab1.send(`line ${i}`);
    tab2.send('one more');
    const refused = (await Promise.race([
      tab1.waitFor((f) => f.type === 'error', 'an error on the first tab'),
      tab2.waitFor((f) => f.type === 'error', 'an error on the second tab'),
    ])) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.RATE_LIMITED);
    // Another user's rate is its own.
    await impostor.barrier();
    await Promise.all([tab1.close(), tab2.close(), impostor.close()]);
  });

  it("does not resume a session with another user's token: knowing the session is not enough", async () => {
    const ada = await ChatClient.connect(hs.wsUrl, { hello: { token: await token({ sub: 'resumer-ada' }) } });
    const session = ada.welcome.session!;
    ada.drop();
    await hs.logs.waitFor((l) => l.msg === 'connection closed' && l.id === ada.id, 10_000, 'the drop seen');
    const mallory = await ChatClient.connect(hs.wsUrl, { hello: { session, token: await token({ sub: 'resumer-mallory' }) } });
    assert.equal(mallory.welcome.resumed, false);
    assert.notEqual(mallory.id, ada.id, "not Ada's identity");
    assert.notEqual(mallory.welcome.session, session);
    const back = await ChatClient.connect(hs.wsUrl, { hello: { session, token: await token({ sub: 'resumer-ada' }) } });
    assert.equal(back.welcome.session, session, 'the same user resumes it');
    assert.equal(back.id, ada.id);
    await Promise.all([mallory.close(), back.close()]);
  });

  it('keeps a connection whose token is refreshed in place, and closes one not refreshed with 4010 within the grace', async () => {
    const exp = nowSec() + 3;
    const kept = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'refresher', exp })}`);
    const lapsed = await ChatClient.connect(`${hs.wsUrl}?token=${await token({ sub: 'lapser', exp })}`);
    kept.send(`/refresh ${await token({ sub: 'refresher' }, 600)}`);
    // A refresh for another user is refused, and changes nothing.
    kept.send(`/refresh ${await token({ sub: 'someone-else' }, 600)}`);
    const refused = (await kept.waitFor((f) => f.type === 'error', 'an error')) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.TOKEN_INVALID);
    const closed = await lapsed.closed;
    assert.equal(closed.code, CloseCode.TOKEN_EXPIRED);
    const lateMs = Date.now() - exp * 1000;
    assert.ok(lateMs >= GRACE_MS, `closed ${lateMs} ms after exp, not before the grace`);
    assert.ok(lateMs < GRACE_MS + 3_000, `closed ${lateMs} ms after exp, within the grace and a beat`);
    // The refreshed one outlived the same expiry.
    await kept.barrier();
    await kept.close();
  });
});

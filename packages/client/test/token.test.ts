import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CloseCode, type AckFrame } from '@switchboard/protocol';
import { ClientError, refreshDelay, tokenExpiry, type CloseInfo } from '../src/index.js';
import { setup, welcome } from './v2-harness.js';

/** An unsigned JWT-shaped token expiring at `expSeconds` (the client reads `exp`; the server checks signatures). */
function jwt(expSeconds: number, sub = 'ada'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: expSeconds })}.c2ln`;
}

/** Let the token promise and the dial after it run (setImmediate is not mocked). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const tokenOf = (url: string) => new URL(url).searchParams.get('token');

describe('SwitchboardClient tokens', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  it('sends a given token in the `token` query parameter of the upgrade', async () => {
    const token = jwt(3600);
    const { client, socket } = setup({ url: 'ws://gateway.test/ws?x=1', token });
    const connected = client.connect();
    await settle();
    assert.equal(tokenOf(socket(0).url), token);
    assert.equal(new URL(socket(0).url).searchParams.get('x'), '1', 'the rest of the query is kept');
    welcome(socket(0));
    await connected;
  });

  it('asks getToken before every connection: after a refused upgrade (a 401 is a failed connection to a browser) it asks again', async () => {
    let asked = 0;
    const { client, socket, sockets } = setup({ getToken: () => `t${++asked}` });
    const connected = client.connect();
    await settle();
    assert.equal(tokenOf(socket(0).url), 't1');
    socket(0).drop(1006);
    mock.timers.tick(100);
    await settle();
    assert.equal(sockets.length, 2);
    assert.equal(tokenOf(socket(1).url), 't2');
    welcome(socket(1));
    await connected;
  });

  it('refreshes the token in place before it expires: a v2 `refresh` on the same connection, no reconnect', async () => {
    const tokens = [jwt(40), jwt(80)];
    let asked = 0;
    const { client, socket, sockets } = setup({ getToken: async () => tokens[asked++]! });
    const connected = client.connect();
    await settle();
    welcome(socket(0));
    await connected;
    // 40 s left: refreshed when a quarter of it (10 s) remains.
    mock.timers.tick(29_999);
    await settle();
    assert.equal(asked, 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(asked, 2);
    assert.deepEqual(socket(0).sentJson.at(-1), { type: 'refresh', token: tokens[1], ref: 'refresh-1' });
    assert.equal(sockets.length, 1, 'no reconnect');
    assert.equal(client.state, 'open');
  });

  it("emits tokenRefreshed on the server's ack of its refresh, and on a TOKEN_INVALID refusal tokenError, then asks again in 5 s", async () => {
    const tokens = [jwt(40), jwt(80), jwt(120)];
    let asked = 0;
    const { client, socket } = setup({ getToken: async () => tokens[asked++]! });
    const refreshed: AckFrame[] = [];
    const failed: Error[] = [];
    client.on('tokenRefreshed', (ack) => refreshed.push(ack));
    client.on('tokenError', (err) => failed.push(err));
    const connected = client.connect();
    await settle();
    welcome(socket(0));
    await connected;
    mock.timers.tick(30_000);
    await settle();
    const ack = {
      type: 'ack',
      id: 'id-1',
      nickname: 'ada',
      message: 'Token refreshed.',
      ref: 'refresh-1',
      room: 'lobby',
      seq: 0,
      epoch: 'ep-1',
    };
    // An ack of another ref (a line's) is not the refresh's.
    socket(0).frame({ ...ack, ref: 'c1-1' });
    assert.equal(refreshed.length, 0);
    socket(0).frame(ack);
    assert.deepEqual(refreshed, [ack]);
    // The next refresh (20 s before the second token's exp) is refused by the server.
    mock.timers.tick(50_000);
    await settle();
    assert.equal(asked, 3);
    assert.equal(socket(0).sentJson.at(-1)?.ref, 'refresh-2');
    const message = 'That token was refused (invalid, expired, or for another user): the connection keeps the token it had.';
    socket(0).frame({ type: 'error', id: 'id-1', nickname: 'ada', code: 'TOKEN_INVALID', message, ref: 'refresh-2' });
    assert.equal(failed.length, 1);
    assert.ok(failed[0] instanceof ClientError);
    assert.equal(failed[0].code, 'TOKEN_INVALID');
    assert.equal(failed[0].message, message);
    tokens.push(jwt(400));
    mock.timers.tick(5_000);
    await settle();
    assert.equal(asked, 4, 'asked again 5 s after the refusal');
    assert.equal(socket(0).sentJson.at(-1)?.ref, 'refresh-3');
  });

  it('sends `/refresh TOKEN` on a seed (v1) connection', async () => {
    let asked = 0;
    const tokens = [jwt(8), jwt(100)];
    const { client, socket } = setup({ protocol: 'v1', getToken: () => tokens[asked++]! });
    const connected = client.connect();
    await settle();
    socket(0).accept();
    await connected;
    mock.timers.tick(6_000);
    await settle();
    assert.equal(socket(0).sent.at(-1), `/refresh ${tokens[1]}`);
  });

  it('surfaces 4011 DISCONNECTED_BY_SERVER as its own event and does not reconnect', async () => {
    const { client, socket, sockets } = setup({ token: jwt(3600) });
    const events: CloseInfo[] = [];
    client.on('disconnectedByServer', (info) => events.push(info));
    const connected = client.connect();
    await settle();
    welcome(socket(0));
    await connected;
    socket(0).drop(CloseCode.DISCONNECTED_BY_SERVER, 'disconnected by the server');
    mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(events, [{ code: 4011, reason: 'disconnected by the server', willReconnect: false }]);
    assert.equal(client.state, 'closed');
    assert.equal(sockets.length, 1);
  });

  it('surfaces 4010 TOKEN_EXPIRED; with getToken it reconnects with a new token, with a plain token it stops', async () => {
    let asked = 0;
    const renewable = setup({ getToken: () => `fresh-${++asked}` });
    const expired: CloseInfo[] = [];
    renewable.client.on('tokenExpired', (info) => expired.push(info));
    const connected = renewable.client.connect();
    await settle();
    welcome(renewable.socket(0));
    await connected;
    renewable.socket(0).drop(CloseCode.TOKEN_EXPIRED, 'token expired');
    mock.timers.tick(100);
    await settle();
    assert.deepEqual(expired, [{ code: 4010, reason: 'token expired', willReconnect: true }]);
    assert.equal(tokenOf(renewable.socket(1).url), 'fresh-2');

    const fixed = setup({ token: 'only-one' });
    const stopped: CloseInfo[] = [];
    fixed.client.on('tokenExpired', (info) => stopped.push(info));
    const open = fixed.client.connect();
    await settle();
    welcome(fixed.socket(0));
    await open;
    fixed.socket(0).drop(CloseCode.TOKEN_EXPIRED, 'token expired');
    mock.timers.tick(60_000);
    await settle();
    assert.deepEqual(stopped, [{ code: 4010, reason: 'token expired', willReconnect: false }]);
    assert.equal(fixed.sockets.length, 1);
  });

  it('refuses token and getToken together, and an empty token', () => {
    assert.throws(() => setup({ token: 'a', getToken: () => 'b' }), /token or getToken, not both/);
    assert.throws(() => setup({ token: '' }), /non-empty string/);
  });
});

describe('refreshDelay', () => {
  it('refreshes 30 s before exp, a short token when a quarter of its time is left, never sooner than 250 ms', () => {
    assert.equal(refreshDelay(jwt(3600), 0), 3_570_000);
    assert.equal(refreshDelay(jwt(4), 0), 3_000);
    assert.equal(refreshDelay(jwt(1), 5_000), 250);
    assert.equal(refreshDelay('not-a-jwt', 0), undefined);
    assert.equal(tokenExpiry(jwt(12)), 12_000);
  });
});

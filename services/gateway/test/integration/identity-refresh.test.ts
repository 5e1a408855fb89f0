import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CloseCode,
  ErrorCode,
  TOKEN_REFRESHED_TEXT,
  type AckFrame,
  type ErrorFrame,
  type HelpFrame,
  type NotificationFrame,
  type ServerFrame,
} from '@switchboard/protocol';
import { ChatClient, GatewayProcess, QUIET_GATEWAY_ENV, RedisServer } from '@switchboard/testkit';
import { hsToken } from './identity-helpers.js';

/**
 * Identity on: what a refresh does beyond its expiry. It is answered (an `ack`,
 * with the v2 refresh's `ref`); a token whose `rooms` no longer allow the room
 * the connection is in moves it out at once (ROOM_FORBIDDEN naming the room,
 * `left` to the others, then where a new session would start), or closes it
 * with 4012 when no room is left to it; a token that gives the user another
 * name is refused with TOKEN_INVALID.
 */

const SECRET = 'a-test-secret-for-refreshes-32-bytes!';

describe('identity on: a refresh is answered, and narrows rooms at once', () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;

  before(async () => {
    redis = await RedisServer.start();
    gateway = await GatewayProcess.start({
      env: { REDIS_URL: redis.url, NODE_ID: 'id-refresh', AUTH_JWT_SECRET: SECRET, ...QUIET_GATEWAY_ENV },
    });
  });

  after(async () => {
    await gateway?.stop();
    await redis?.dispose();
  });

  /** The clients that speak protocol v2 (JSON frames); the others speak the seed's lines. */
  const speaksV2 = new WeakSet<ChatClient>();
  const token = (claims: Record<string, unknown>) => hsToken(SECRET, claims);
  const v2 = async (claims: Record<string, unknown>) => {
    const client = await ChatClient.connect(gateway.wsUrl, { hello: { token: await token(claims) } });
    speaksV2.add(client);
    return client;
  };
  const seed = async (claims: Record<string, unknown>) => ChatClient.connect(`${gateway.wsUrl}?token=${await token(claims)}`);

  /** Ask to move to `room`, in the client's protocol. */
  function join(client: ChatClient, room: string): void {
    if (speaksV2.has(client)) client.sendJson({ type: 'join', room });
    else client.send(`/join ${room}`);
  }

  /** `client` moves to `room` and is answered. */
  async function moveTo(client: ChatClient, room: string): Promise<void> {
    join(client, room);
    await client.waitFor((f) => f.type === 'joined' && f.room === room, `joined #${room}`);
  }

  /** ChatClient.barrier in the client's protocol: a marker line, and its echo. */
  async function barrier(client: ChatClient): Promise<void> {
    if (!speaksV2.has(client)) return client.barrier();
    const text = `barrier ${Math.random()}`;
    client.sendJson({ type: 'message', message: text });
    await client.waitForMessage('message', text);
  }

  const frameAt = (client: ChatClient, match: (f: ServerFrame) => boolean) => client.frames.items.findIndex(match);

  it('answers a v2 refresh with an ack carrying its ref, and a seed /refresh with a private ack', async () => {
    const vee = await v2({ sub: 'vee' });
    vee.sendJson({ type: 'refresh', token: await token({ sub: 'vee' }), ref: 'r-1' });
    const ack = (await vee.waitFor((f) => f.type === 'ack' && f.ref === 'r-1', 'the ack of r-1')) as AckFrame;
    assert.equal(ack.message, TOKEN_REFRESHED_TEXT);
    assert.equal(ack.room, 'lobby');
    assert.equal(ack.id, vee.id);
    const seedling = await seed({ sub: 'seedling' });
    seedling.send(`/refresh ${await token({ sub: 'seedling' })}`);
    const answer = (await seedling.waitFor((f) => f.type === 'ack', 'the ack of /refresh')) as AckFrame;
    assert.equal(answer.message, TOKEN_REFRESHED_TEXT);
    assert.equal(answer.ref, undefined);
    // Only the refresher hears of it.
    await barrier(vee);
    assert.ok(!vee.frames.items.some((f) => f.type === 'ack' && f.ref === undefined), 'no ack of the other refresh');
    await Promise.all([vee.close(), seedling.close()]);
  });

  it('moves a member out of a room its new token forbids: ROOM_FORBIDDEN naming it, `left` to the room, then the lobby, then the ack', async () => {
    const mover = await v2({ sub: 'mover', name: 'Mover' });
    const watcher = await v2({ sub: 'watcher' });
    await moveTo(mover, 'secret');
    await moveTo(watcher, 'secret');
    mover.sendJson({ type: 'refresh', token: await token({ sub: 'mover', name: 'Mover', rooms: ['lobby', 'team-*'] }), ref: 'narrow' });
    const refused = (await mover.waitFor((f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN, 'ROOM_FORBIDDEN')) as ErrorFrame;
    assert.equal(refused.room, 'secret');
    assert.match(refused.message, /#secret/);
    assert.equal(refused.ref, undefined, 'not a refusal of the refresh');
    await mover.waitFor((f) => f.type === 'joined' && f.room === 'lobby', 'joined #lobby');
    const ack = (await mover.waitFor((f) => f.type === 'ack' && f.ref === 'narrow', 'the ack')) as AckFrame;
    assert.equal(ack.room, 'lobby', 'the ack says where it stands now');
    const order = [
      frameAt(mover, (f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN),
      frameAt(mover, (f) => f.type === 'joined' && f.room === 'lobby'),
      frameAt(mover, (f) => f.type === 'ack' && f.ref === 'narrow'),
    ];
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      'refusal, then the move, then the ack',
    );
    const left = (await watcher.waitFor(
      (f) => f.type === 'notification' && f.event === 'left' && f.id === mover.id && f.room === 'secret',
      'the mover left #secret',
    )) as NotificationFrame;
    assert.equal(left.room, 'secret');
    // It may not come back, and its lines are said in the lobby.
    join(mover, 'secret');
    await mover.waitFor((f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN && f.room === undefined, 'a refused join');
    await barrier(mover);
    await barrier(watcher);
    assert.ok(!watcher.events.some((e) => e.type === 'message' && e.id === mover.id), 'nothing the mover said reached #secret');
    await Promise.all([mover.close(), watcher.close()]);
  });

  it('moves a seed member to the first room of its token when the lobby is not allowed', async () => {
    const member = await seed({ sub: 'opsy' });
    await moveTo(member, 'general');
    member.send(`/refresh ${await token({ sub: 'opsy', rooms: ['team-*', 'ops'] })}`);
    await member.waitFor(
      (f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN && f.room === 'general',
      'ROOM_FORBIDDEN #general',
    );
    await member.waitFor((f) => f.type === 'joined' && f.room === 'ops', 'joined #ops');
    await member.waitFor((f) => f.type === 'ack', 'the ack');
    await member.close();
  });

  it('closes a member whose new token allows no room to start in with 4012, and ends its session', async () => {
    const member = await v2({ sub: 'roomless' });
    const watcher = await v2({ sub: 'roomless-watcher' });
    await moveTo(member, 'attic');
    await moveTo(watcher, 'attic');
    member.sendJson({ type: 'refresh', token: await token({ sub: 'roomless', rooms: ['team-*'] }), ref: 'none-left' });
    await member.waitFor((f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN && f.room === 'attic', 'ROOM_FORBIDDEN #attic');
    const closed = await member.closed;
    assert.equal(closed.code, CloseCode.TOKEN_INVALID);
    assert.ok(!member.frames.items.some((f) => f.type === 'ack'), 'no ack for a refresh that closed the connection');
    // Its session ends now (no grace for a resume): the room hears the disconnect.
    await watcher.waitFor((f) => f.type === 'notification' && f.event === 'disconnected' && f.id === member.id, 'the disconnect');
    await watcher.close();
  });

  it('keeps a member in a room its new token still allows, and acks', async () => {
    const member = await v2({ sub: 'stayer', rooms: ['lobby', 'team-*'] });
    await moveTo(member, 'team-red');
    member.sendJson({ type: 'refresh', token: await token({ sub: 'stayer', rooms: ['team-*'] }), ref: 'still-fine' });
    const ack = (await member.waitFor((f) => f.type === 'ack' && f.ref === 'still-fine', 'the ack')) as AckFrame;
    assert.equal(ack.room, 'team-red');
    assert.ok(!member.frames.items.some((f) => f.type === 'error'), 'no refusal');
    await member.close();
  });

  it('refuses a refresh whose name claim differs with TOKEN_INVALID, and keeps the name and the old token', async () => {
    const member = await v2({ sub: 'renamer', name: 'Ada', rooms: ['lobby', 'x'] });
    member.sendJson({ type: 'refresh', token: await token({ sub: 'renamer', name: 'Grace' }), ref: 'rename' });
    const refused = (await member.waitFor((f) => f.type === 'error' && f.ref === 'rename', 'the refusal')) as ErrorFrame;
    assert.equal(refused.code, ErrorCode.TOKEN_INVALID);
    assert.match(refused.message, /name/);
    // A token without the name is another name too.
    member.sendJson({ type: 'refresh', token: await token({ sub: 'renamer' }), ref: 'unname' });
    await member.waitFor((f) => f.type === 'error' && f.ref === 'unname' && f.code === ErrorCode.TOKEN_INVALID, 'the second refusal');
    // The old token stands: its rooms (not every room), its name.
    join(member, 'elsewhere');
    await member.waitFor((f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN, 'the old rooms still apply');
    await barrier(member);
    assert.ok(
      member.events.every((e) => e.type !== 'nick_update'),
      'no rename',
    );
    assert.equal(member.events.at(-1)?.nickname, 'Ada');
    await member.close();
  });

  it('moves a resumed session out of a room its new token no longer allows, right after its welcome', async () => {
    const first = await v2({ sub: 'returner' });
    await moveTo(first, 'den');
    const session = first.welcome.session!;
    first.drop();
    await gateway.logs.waitFor((l) => l.msg === 'connection closed' && l.id === first.id, 10_000, 'the drop seen');
    const back = await ChatClient.connect(gateway.wsUrl, { hello: { session, token: await token({ sub: 'returner', rooms: ['ops'] }) } });
    assert.equal(back.welcome.session, session, 'the same session');
    assert.equal(back.id, first.id);
    assert.equal(back.welcome.room, 'den', 'resumed where it was');
    await back.waitFor((f) => f.type === 'error' && f.code === ErrorCode.ROOM_FORBIDDEN && f.room === 'den', 'ROOM_FORBIDDEN #den');
    await back.waitFor((f) => f.type === 'joined' && f.room === 'ops', 'joined #ops');
    assert.ok(!back.frames.items.some((f) => f.type === 'ack'), 'no ack: nothing was refreshed');
    await back.close();
  });

  it('lists /refresh in /help for a connection with a token', async () => {
    const member = await seed({ sub: 'helper' });
    member.send('/help');
    const help = (await member.waitFor((f) => f.type === 'help', 'help')) as HelpFrame;
    assert.ok(
      help.commands.some((c) => c.usage === '/refresh TOKEN'),
      JSON.stringify(help.commands),
    );
    assert.match(help.message, /\/refresh TOKEN/);
    await member.close();
  });
});

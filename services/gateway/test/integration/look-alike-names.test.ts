import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ErrorCode } from '@switchboard/protocol';
import { ChatClient, FRAME_TIMEOUT_MS, GatewayProcess, RedisServer } from '@switchboard/testkit';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { RedisSessionRegistry } from '../../src/sessions/redis-session-registry.js';
import type { SessionInfo } from '../../src/sessions/session-registry.js';
import { untilReady } from '../contract/ready.js';

/**
 * One name, one look (issue 20): names that look the same as one held anywhere
 * in the cluster are NICK_TAKEN, names that hide characters drawn as nothing are
 * NICK_INVALID, through real gateways on a real Redis; and sessions registered
 * by nodes from before look-alikes counted (a rolling upgrade) keep their names.
 */

/** The names beside `alice` an abuse report found accepted, with the refusal each now gets. */
const LOOK_ALIKES: ReadonlyArray<readonly [string, string]> = [
  ['\u0430lice', ErrorCode.NICK_TAKEN], // Cyrillic а
  ['\uff41\uff4c\uff49\uff43\uff45', ErrorCode.NICK_TAKEN], // fullwidth
  ['\u{1d41a}lice', ErrorCode.NICK_TAKEN], // mathematical bold a
  ['ALICE', ErrorCode.NICK_TAKEN],
  ['\u1d00lice', ErrorCode.NICK_INVALID], // small capital A
  ...['\u00ad', '\u034f', '\ufe0f', '\ufe00', '\u2062', '\u{e0041}', '\u180e', '\u115f', '\uffa0', '\u17b4'].map(
    (invisible) => [`alice${invisible}`, ErrorCode.NICK_INVALID] as const,
  ),
  ['\u3164', ErrorCode.NICK_INVALID], // Hangul filler: a blank name
  ['\u2800', ErrorCode.NICK_INVALID], // braille blank
];

describe('look-alike names on two gateways over Redis', () => {
  let redis: RedisServer;
  let a: GatewayProcess;
  let b: GatewayProcess;

  before(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url };
    [a, b] = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'names-a' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'names-b' } }),
    ]);
  });

  after(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.dispose();
  });

  it('answers `/nick аlice` with NICK_TAKEN while alice is held on the other node, and every look-alike with a refusal, broadcasting none', async (t) => {
    const holder = await ChatClient.connect(a.wsUrl);
    const seed = await ChatClient.connect(b.wsUrl);
    const modern = await ChatClient.connect(b.wsUrl, { hello: {} });
    holder.send('/nick alice');
    await holder.waitForMessage('nick_update', `Client ${holder.welcome.nickname} changed to alice`);
    const mark = holder.events.length;

    seed.send('/nick \u0430lice');
    const first = await seed.frames.waitFor((f) => f.type === 'error', FRAME_TIMEOUT_MS, 'the refusal of Cyrillic аlice');
    assert.equal(first.type === 'error' && first.code, ErrorCode.NICK_TAKEN);

    for (const [name, code] of LOOK_ALIKES) {
      const from = seed.frames.items.length;
      seed.send(`/nick ${name}`);
      const refusal = await seed.frames.waitFor(
        (f) => f.type === 'error',
        FRAME_TIMEOUT_MS,
        `the refusal of ${JSON.stringify(name)}`,
        from,
      );
      assert.equal(refusal.type === 'error' && refusal.code, code, JSON.stringify(name));

      const ref = `nick-${modern.frames.items.length}`;
      modern.sendJson({ type: 'nick', nickname: name, ref });
      const v2 = await modern.waitFor((f) => f.type === 'error' && f.ref === ref, `the v2 refusal of ${JSON.stringify(name)}`);
      assert.equal(v2.type === 'error' && v2.code, code, JSON.stringify(name));
    }

    const count = (code: string) => LOOK_ALIKES.filter(([, c]) => c === code).length;
    t.diagnostic(
      `${LOOK_ALIKES.length} look-alikes of alice refused in both protocols: ${count(ErrorCode.NICK_TAKEN)} NICK_TAKEN, ${count(ErrorCode.NICK_INVALID)} NICK_INVALID`,
    );
    await holder.barrier('look-alikes');
    const renames = holder.events.slice(mark).filter((e) => e.type === 'nick_update');
    assert.deepEqual(renames, [], 'no refused name was broadcast');

    // The name and its look-alikes are free once alice has gone; the name shown is the one typed.
    await holder.close();
    await seed.waitFor((f) => f.type === 'notification' && f.event === 'disconnected' && f.id === holder.id, 'alice leaving');
    seed.send('/nick \u0430lice');
    await seed.waitForMessage('nick_update', `Client ${seed.welcome.nickname} changed to \u0430lice`);
    const ref = 'latin-alice';
    modern.sendJson({ type: 'nick', nickname: 'alice', ref });
    const taken = await modern.waitFor((f) => f.type === 'error' && f.ref === ref, 'the refusal of alice beside аlice');
    assert.equal(taken.type === 'error' && taken.code, ErrorCode.NICK_TAKEN);
    await Promise.all([seed.close(), modern.close()]);
  });
});

describe('names held by nodes from before look-alikes counted (a rolling upgrade, one Redis)', () => {
  const logger = pino({ level: 'silent' });
  const HISTORY = { historyMaxEvents: 100, historyMaxAgeMs: 60_000, historyMaxBytes: 100_000, refsPerClient: 10, historyOnJoin: 10 };
  let redis: RedisServer;
  let raw: Redis;
  let registry: RedisSessionRegistry;
  let keys: RedisKeys;
  let tests = 0;
  let counter = 0;

  const session = (nickname: string): SessionInfo => {
    const n = ++counter;
    return { token: `new-${n}`, id: `id-${n}`, nickname, conn: `conn-${n}`, graceMs: 0, start: { epoch: 'e', seq: 0 }, room: 'lobby' };
  };

  /** A session as an older node's create script left it: its name held under its lowercase alone, no `nkeys`. */
  async function olderSession(token: string, nickname: string): Promise<void> {
    const nkey = nickname.toLowerCase();
    await raw.hset(keys.session(token), {
      id: `id-${token}`,
      nickname,
      nkey,
      node: 'older-node',
      conn: `conn-${token}`,
      grace: '0',
      room: 'lobby',
    });
    await raw.hset(keys.nicks, nkey, token);
  }

  before(async () => {
    redis = await RedisServer.start();
    raw = new Redis(redis.url);
  });

  after(async () => {
    raw?.disconnect();
    await redis?.dispose();
  });

  // A fresh prefix (so fresh keys) and registry for each test.
  const fresh = async () => {
    const prefix = `upgrade-${++tests}`;
    keys = new RedisKeys(prefix);
    registry = new RedisSessionRegistry(
      {
        ...HISTORY,
        target: { url: redis.url },
        prefix,
        nodeId: 'new-node',
        logger,
        leaseTtlMs: 5_000,
        sweepIntervalMs: 1_000,
        summaryIntervalMs: 1_000,
        maxRooms: 100,
        presenceNoticeLimit: 100,
        joinNoticeRatePerSec: 100,
        joinNoticeBurst: 100,
      },
      new MemoryBus(HISTORY),
    );
    registry.start(() => []);
    await untilReady(registry, 'the session registry');
  };

  afterEach(async () => {
    await registry?.close();
  });

  it("keeps an older node's names taken, by their case and by their look", async () => {
    await fresh();
    await olderSession('old-1', 'M\u00fcller');
    await olderSession('old-2', 'alice');
    for (const name of ['M\u00fcller', 'M\u00dcLLER', 'alice', '\u0430lice', 'ALICE']) {
      assert.deepEqual(await registry.create(session(name), false), { ok: false, reason: 'nick-taken' }, name);
    }
  });

  it('renames and ends what an older node registered, releasing its name', async () => {
    await fresh();
    await olderSession('old-1', 'M\u00fcller');
    await olderSession('old-2', 'alice');
    assert.equal(await registry.rename('old-1', { id: 'id-old-1', nickname: 'Zed' }), 'ok');
    assert.deepEqual(await registry.create(session('M\u00fcller'), false), { ok: true, notices: [] }, 'the old name is free');
    assert.deepEqual(await registry.create(session('zed'), false), { ok: false, reason: 'nick-taken' }, 'the new one is held');
    await registry.end('old-2', 'conn-old-2', false);
    assert.deepEqual(await registry.create(session('alice'), false), { ok: true, notices: [] });
  });

  it('holds a new name where an older node looks (its lowercase), and ignores what an older node leaves of it', async () => {
    await fresh();
    const tom = session('Tom');
    await registry.create(tom, false);
    assert.equal(await raw.hget(keys.nicks, 'tom'), tom.token, 'an older node finds Tom under its lowercase');
    assert.equal(await raw.hget(keys.nicks, 'torn'), tom.token, 'and a new node under its look (rn for m) as well');
    assert.deepEqual(await registry.create(session('torn'), false), { ok: false, reason: 'nick-taken' });

    // An older node renames Tom: it moves the lowercase key only, and the look-alike key it never knew is stale.
    await raw.hset(keys.session(tom.token), { nickname: 'Ben', nkey: 'ben' });
    await raw.hdel(keys.nicks, 'tom');
    await raw.hset(keys.nicks, 'ben', tom.token);
    assert.deepEqual(await registry.create(session('torn'), false), { ok: true, notices: [] }, 'torn is free');
    assert.deepEqual(await registry.create(session('BEN'), false), { ok: false, reason: 'nick-taken' });

    // An older node ends a new session: it deletes the session and its lowercase key; what is left holds nothing.
    const tim = session('tim');
    await registry.create(tim, false);
    await raw.del(keys.session(tim.token));
    await raw.hdel(keys.nicks, 'tim');
    assert.equal(await raw.hget(keys.nicks, 'tirn'), tim.token, 'the key an older node did not release');
    assert.deepEqual(await registry.create(session('tirn'), false), { ok: true, notices: [] });
  });
});

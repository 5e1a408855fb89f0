import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatClient, GatewayProcess, QUIET_GATEWAY_ENV, RedisServer } from '@switchboard/testkit';
import { hsToken } from './identity-helpers.js';

/**
 * Identity on: the name a user's sessions share is kept in Redis beside them
 * (`{P}:user-names:<user>`). A gateway SIGKILLed while holding it must not leave
 * it behind for good: the key expires with the last of the user's session keys,
 * and a session whose key is gone (expired before a sweep ended it) holds no name.
 */

const SECRET = 'a-test-secret-for-user-names-32-bytes';
const PREFIX = 'sbnames';
const HOUSEKEEPING = { LEASE_TTL_MS: '1000', SWEEP_INTERVAL_MS: '200' };

describe("identity on: a user's name cannot outlive its sessions", () => {
  let redis: RedisServer;
  let doomed: GatewayProcess;
  let survivor: GatewayProcess;

  before(async () => {
    redis = await RedisServer.start();
    const env = (node: string) => ({
      ...QUIET_GATEWAY_ENV,
      ...HOUSEKEEPING,
      REDIS_URL: redis.url,
      REDIS_PREFIX: PREFIX,
      NODE_ID: node,
      AUTH_JWT_SECRET: SECRET,
      // Long: no sweep ends the session in this test; only its key's expiry can.
      RESUME_GRACE_MS: '600000',
    });
    [doomed, survivor] = await Promise.all([
      GatewayProcess.start({ env: env('names-doomed') }),
      GatewayProcess.start({ env: env('names-survivor') }),
    ]);
  });

  after(async () => {
    await Promise.all([doomed?.kill(), survivor?.stop()]);
    await redis?.dispose();
  });

  const token = (claims: Record<string, unknown>) => hsToken(SECRET, claims);
  const pttl = async (key: string) => Number(await redis.cli('PTTL', key));

  it("gives the user's name key the TTL of its sessions once their node is found dead, and frees the name once they are gone", async () => {
    const kim = await ChatClient.connect(doomed.wsUrl, { hello: { token: await token({ sub: 'kim', name: 'Kim' }) } });
    assert.equal(kim.welcome.nickname, 'Kim');
    const sessionKey = `{${PREFIX}}:session:${kim.welcome.session!}`;
    const namesKeys = (await redis.cli('KEYS', `{${PREFIX}}:*:kim`)).split('\n').filter((k) => k !== '');
    assert.ok(namesKeys.length > 0, "the user's name is kept under a key of its own");
    for (const key of namesKeys) assert.equal(await pttl(key), -1, `${key}: no TTL while the session is live`);

    await doomed.kill();
    await survivor.logs.waitFor((l) => l.msg === 'took over the sessions of a dead node', 20_000, 'the dead node found');
    const sessionTtl = await pttl(sessionKey);
    assert.ok(sessionTtl > 0, `the session waits for a resume, its key with a TTL (${sessionTtl})`);
    for (const key of namesKeys) {
      const ttl = await pttl(key);
      assert.ok(ttl > 0 && ttl <= sessionTtl + 1_000, `${key} expires with the session (${ttl} ms, the session ${sessionTtl} ms)`);
    }

    // The session's key expires before any sweep ends it (what its TTL is for): the name is free.
    await redis.cli('DEL', sessionKey);
    const other = await ChatClient.connect(survivor.wsUrl, { hello: { token: await token({ sub: 'not-kim', name: 'Kim' }) } });
    assert.equal(other.welcome.nickname, 'Kim', 'the name of a user with no session left is free');
    assert.equal((await redis.cli('EXISTS', ...namesKeys)).trim(), '0', 'and the gone session left its key');
    await other.close();
  });
});

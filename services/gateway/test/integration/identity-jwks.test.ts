import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { ChatClient, GatewayProcess, eventually } from '@switchboard/testkit';
import { tryUpgrade } from './identity-helpers.js';

/**
 * AUTH_JWKS_URL: keys from a small local key server. A token signed with a key
 * the node has not seen makes it fetch the JWKS again (not more often than
 * AUTH_JWKS_COOLDOWN_MS); a rotation is picked up without a restart, and a
 * key taken out of the set stops working once the set is fetched again.
 */

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const tokenOf = (key: SigningKey, sub: string) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setExpirationTime('10m').sign(key.privateKey);

describe('identity with a JWKS: keys fetched, cached and rotated', () => {
  let keyServer: Server;
  let published: SigningKey[] = [];
  let fetches = 0;
  let gateway: GatewayProcess;
  let first: SigningKey;
  let second: SigningKey;

  before(async () => {
    [first, second] = await Promise.all([signingKey('key-1'), signingKey('key-2')]);
    published = [first];
    keyServer = createServer((_req, res) => {
      fetches++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
    });
    keyServer.listen(0, '127.0.0.1');
    await once(keyServer, 'listening');
    const { port } = keyServer.address() as AddressInfo;
    gateway = await GatewayProcess.start({
      env: { REDIS_URL: '', NODE_ID: 'id-jwks', AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, AUTH_JWKS_COOLDOWN_MS: '200' },
    });
  });

  after(async () => {
    await gateway?.stop();
    keyServer?.close();
  });

  it('verifies a token signed with a published key, fetching the set once for many tokens', async () => {
    const a = await ChatClient.connect(`${gateway.wsUrl}?token=${await tokenOf(first, 'ada')}`);
    const b = await ChatClient.connect(`${gateway.wsUrl}?token=${await tokenOf(first, 'bob')}`);
    assert.equal(fetches, 1, 'the set is cached');
    await Promise.all([a.close(), b.close()]);
  });

  it('picks up a rotated key (an unknown kid refetches the set), and drops a retired one', async () => {
    const port = Number(new URL(gateway.wsUrl).port);
    // Not published yet: refused, whatever the fetches.
    const early = await tryUpgrade(port, `/ws?token=${await tokenOf(second, 'ada')}`);
    assert.equal(early.status, 401);
    published = [second];
    // Rotated: an unknown kid fetches the set again once the cooldown has passed.
    const token = await tokenOf(second, 'ada');
    const rotated = await eventually(
      async () => {
        const answer = await tryUpgrade(port, `/ws?token=${token}`);
        answer.socket?.destroy();
        return answer.status === 101 && answer;
      },
      { what: 'the rotated key accepted' },
    );
    assert.equal(rotated.status, 101);
    // key-1 is gone from the fetched set: its tokens no longer verify.
    const retired = await tryUpgrade(port, `/ws?token=${await tokenOf(first, 'ada')}`);
    assert.equal(retired.status, 401);
    assert.equal(retired.body.reason, 'token_signature');
  });

  it('bounds refetches: a flood of unknown kids costs at most one fetch per cooldown', async () => {
    const port = Number(new URL(gateway.wsUrl).port);
    const stranger = await signingKey('made-up');
    const before = fetches;
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => tryUpgrade(port, `/ws?token=${await tokenOf(stranger, 'mallory')}`)),
    );
    assert.ok(answers.every((answer) => answer.status === 401));
    const allowed = Math.ceil((Date.now() - started) / 200) + 1;
    assert.ok(fetches - before <= allowed, `${fetches - before} fetches for 50 unknown kids in ${Date.now() - started} ms`);
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../../src/config/gateway-config.js';
import { RoomPermissions } from '../../src/auth/room-permissions.js';
import { JoseTokenVerifier } from '../../src/auth/jose-token-verifier.js';

const load = (env: NodeJS.ProcessEnv) => loadConfig([], env) as Config;

function publicKeyFile(type: 'rsa' | 'ec'): string {
  const { publicKey } =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = join(mkdtempSync(join(tmpdir(), 'sb-auth-')), `${type}.pem`);
  writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
  return file;
}

describe('identity settings', () => {
  it('are off by default: no key source', () => {
    const config = load({});
    assert.equal(config.authJwtSecret, undefined);
    assert.equal(config.authJwtPublicKey, undefined);
    assert.equal(config.authJwksUrl, undefined);
    assert.equal(config.authExpiryGraceMs, 25_000);
  });

  it('refuse more than one key source, naming them', () => {
    assert.throws(
      () => load({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://example.com/jwks.json' }),
      new ConfigError('set one token key source, not AUTH_JWT_SECRET and AUTH_JWKS_URL'),
    );
  });

  it('refuse an HMAC algorithm with a public key, and a public-key algorithm with a secret', () => {
    assert.throws(
      () => load({ AUTH_JWT_PUBLIC_KEY: publicKeyFile('rsa'), AUTH_JWT_ALGORITHMS: 'RS256,HS256' }),
      /AUTH_JWT_ALGORITHMS lists HS256: an HMAC algorithm with a public key is the algorithm-confusion attack/,
    );
    assert.throws(() => load({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWT_ALGORITHMS: 'RS256' }), /AUTH_JWT_ALGORITHMS lists RS256/);
    assert.throws(() => load({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWT_ALGORITHMS: 'none' }), /AUTH_JWT_ALGORITHMS must be/);
  });

  it("default the algorithms to the key's own", () => {
    assert.deepEqual(new JoseTokenVerifier(load({ AUTH_JWT_SECRET: 'x'.repeat(32) })).algorithms, ['HS256']);
    assert.deepEqual(new JoseTokenVerifier(load({ AUTH_JWT_PUBLIC_KEY: publicKeyFile('rsa') })).algorithms, ['RS256']);
    assert.deepEqual(new JoseTokenVerifier(load({ AUTH_JWT_PUBLIC_KEY: publicKeyFile('ec') })).algorithms, ['ES256']);
    assert.deepEqual(new JoseTokenVerifier(load({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWT_ALGORITHMS: 'hs512' })).algorithms, ['HS512']);
  });
});

describe('RoomPermissions', () => {
  it('allows exact names and prefixes ending in *, and starts in the lobby only if allowed', () => {
    const rooms = RoomPermissions.fromClaim(['ops', 'team-*'])!;
    assert.ok(rooms.allows('ops'));
    assert.ok(rooms.allows('team-red'));
    assert.ok(!rooms.allows('lobby'));
    assert.ok(!rooms.allows('teams'));
    assert.equal(rooms.firstRoom(), 'ops');
    assert.equal(RoomPermissions.fromClaim(['team-*', 'lobby'])!.firstRoom(), 'lobby');
    assert.equal(RoomPermissions.fromClaim(['team-*'])!.firstRoom(), undefined);
  });

  it('allows every room without a claim, and refuses a claim that is not a list of room names', () => {
    assert.ok(RoomPermissions.fromClaim(undefined)!.allows('anything'));
    assert.equal(RoomPermissions.fromClaim('lobby'), undefined);
    assert.equal(RoomPermissions.fromClaim(['a room/with a slash']), undefined);
    assert.equal(RoomPermissions.fromClaim([42]), undefined);
  });
});

import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { parseNickname } from '@switchboard/protocol';
import { keySourceOf, type AuthSettings } from './auth-config.js';
import { defaultAlgorithms } from './jwt-algorithms.js';
import { RoomPermissions } from './room-permissions.js';
import type { TokenRefusal, TokenVerifier, Verified } from './token-verifier.js';

/** How long a fetched JWKS is trusted before it is fetched again, ms (jose's cacheMaxAge). */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** How long a JWKS fetch may take, ms. */
const JWKS_TIMEOUT_MS = 5_000;
/** The default of AUTH_JWKS_COOLDOWN_MS: at most one refetch for an unknown `kid` this often, ms. */
export const JWKS_COOLDOWN_MS = 30_000;

/**
 * TokenVerifier with `jose`: `jwtVerify` with an explicit list of algorithms
 * (so `alg: none`, and an HMAC token against a public key, are refused before
 * any signature is computed) and the key of the one configured source: the
 * shared secret, a PEM public key (a KeyObject of type public: jose also
 * refuses to use it as an HMAC secret), or a remote JWKS
 * (`createRemoteJWKSet`: cached, fetched again for an unknown `kid` at most
 * once per cooldown).
 */
export class JoseTokenVerifier implements TokenVerifier {
  private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  private readonly options: { algorithms: string[]; issuer?: string; audience?: string; requiredClaims: string[] };

  constructor(settings: AuthSettings) {
    const source = keySourceOf(settings);
    if (source === undefined) throw new Error('JoseTokenVerifier needs a key source');
    if (source === 'secret') this.key = new TextEncoder().encode(settings.authJwtSecret);
    else if (source === 'public-key') this.key = createPublicKey(readFileSync(settings.authJwtPublicKey!));
    else {
      this.key = createRemoteJWKSet(new URL(settings.authJwksUrl!), {
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: settings.authJwksCooldownMs ?? JWKS_COOLDOWN_MS,
        timeoutDuration: JWKS_TIMEOUT_MS,
      });
    }
    this.options = {
      algorithms: [...(settings.authJwtAlgorithms ?? defaultAlgorithms(source, settings.authJwtPublicKey))],
      ...(settings.authJwtIssuer !== undefined && { issuer: settings.authJwtIssuer }),
      ...(settings.authJwtAudience !== undefined && { audience: settings.authJwtAudience }),
      requiredClaims: ['sub', 'exp'],
    };
  }

  /** The algorithms accepted. */
  get algorithms(): readonly string[] {
    return this.options.algorithms;
  }

  async verify(token: string): Promise<Verified> {
    let payload: JWTPayload;
    try {
      // The overload with a key function and the one with a key differ only in their key's type.
      ({ payload } = await jwtVerify(token, this.key as Uint8Array, this.options));
    } catch (err) {
      return { ok: false, reason: refusalOf(err) };
    }
    return userOf(payload);
  }
}

/** The user of a payload whose signature and standard claims verified, or why its own claims are refused. */
function userOf(payload: JWTPayload): Verified {
  const { sub, exp, name } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || typeof exp !== 'number') return { ok: false, reason: 'token_claims' };
  const rooms = RoomPermissions.fromClaim(payload.rooms);
  if (rooms === undefined) return { ok: false, reason: 'token_claims' };
  let nickname: string | undefined;
  if (name !== undefined) {
    const parsed = typeof name === 'string' ? parseNickname(name) : undefined;
    if (!parsed?.ok) return { ok: false, reason: 'token_claims' };
    nickname = parsed.nickname;
  }
  return { ok: true, user: { sub, expiresAt: exp * 1000, rooms, ...(nickname !== undefined && { name: nickname }) } };
}

/** jose's error, as one of the refusals. */
function refusalOf(err: unknown): TokenRefusal {
  if (err instanceof errors.JWTExpired) return 'token_expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'token_not_yet_valid';
      case 'iss':
        return 'token_issuer';
      case 'aud':
        return 'token_audience';
      default:
        return 'token_claims';
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token_algorithm';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token_signature';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return 'token_signature';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return 'token_keys_unavailable';
  if (err instanceof errors.JOSENotSupported) return 'token_algorithm';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSEError) return 'token_malformed';
  // A JWKS that could not be fetched (network errors are not jose's own).
  return 'token_keys_unavailable';
}

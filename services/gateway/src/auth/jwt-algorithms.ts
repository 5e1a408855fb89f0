import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { kind, readableFile, type Kind } from '@switchboard/config';

/** The algorithms a token may be signed with: HMAC for a shared secret, the others for a public key or a JWKS. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const JWT_ALGORITHMS = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Where a node's token keys come from: exactly one of these settings, or none (identity off). */
export type KeySource = 'secret' | 'public-key' | 'jwks';

/**
 * The algorithms accepted when AUTH_JWT_ALGORITHMS is unset: HS256 for a secret;
 * for a PEM public key, the one its type signs with (RS256 for RSA, ES256/384/512
 * for its EC curve, EdDSA for Ed25519); RS256 and ES256 for a JWKS.
 */
export function defaultAlgorithms(source: KeySource, publicKeyFile?: string): readonly JwtAlgorithm[] {
  if (source === 'secret') return ['HS256'];
  if (source === 'jwks') return ['RS256', 'ES256'];
  const key = createPublicKey(readFileSync(publicKeyFile!));
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256'];
    case 'rsa-pss':
      return ['PS256'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'secp384r1' ? ['ES384'] : curve === 'secp521r1' ? ['ES512'] : ['ES256'];
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      return ['RS256'];
  }
}

/** What is wrong with an allow-list for a key source (an HMAC algorithm with a public key, or the reverse), or undefined. */
export function algorithmProblem(source: KeySource, algorithms: readonly JwtAlgorithm[]): string | undefined {
  const hmac = (alg: JwtAlgorithm) => (HMAC_ALGORITHMS as readonly string[]).includes(alg);
  const wrong = algorithms.filter((alg) => (source === 'secret' ? !hmac(alg) : hmac(alg)));
  if (wrong.length === 0) return undefined;
  return source === 'secret'
    ? `lists ${wrong.join(', ')}, which a shared secret cannot verify (HS256, HS384, HS512 only)`
    : `lists ${wrong.join(', ')}: an HMAC algorithm with a public key is the algorithm-confusion attack`;
}

/** A readable file holding a PEM public key (SPKI, or a certificate's). */
export function publicKeyFile(): Kind<string> {
  const readable = readableFile();
  const holding = 'a PEM public key';
  return {
    expects: `the path of a readable file holding ${holding}`,
    schema: readable.schema.pipe(
      z.string().refine(
        (path) => {
          try {
            createPublicKey(readFileSync(path));
            return true;
          } catch {
            return false;
          }
        },
        { error: `must be a file holding ${holding}` },
      ),
    ),
  };
}

/** One of JWT_ALGORITHMS, in any case (`rs256` reads as RS256); `none` is not one. */
export function jwtAlgorithm(): Kind<JwtAlgorithm> {
  const byLower = new Map<string, JwtAlgorithm>(JWT_ALGORITHMS.map((alg) => [alg.toLowerCase(), alg]));
  return kind(`one of ${JWT_ALGORITHMS.join(', ')}`, (error) =>
    z
      .string()
      .trim()
      .transform((raw) => byLower.get(raw.toLowerCase()))
      .pipe(z.enum(JWT_ALGORITHMS, { error })),
  );
}

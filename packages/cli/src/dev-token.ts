import { SignJWT } from 'jose';

/** What `switchboard token` puts in a token: the claims the gateway reads (issue 22). */
export interface DevTokenClaims {
  /** The user id (`sub`). */
  readonly sub: string;
  /** The nickname (`name`): when present, the user's name, and `/nick` is refused. */
  readonly name?: string;
  /** The rooms the user may join (`rooms`): names, or prefixes ending in `*`. Absent: every room. */
  readonly rooms?: readonly string[];
  /** How long the token is valid, in seconds (`exp` = now + this). */
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `90s`, `15m`, `1h`, `7d` (or plain seconds) in seconds; undefined when it is none of those. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNITS[match[2] || 's']!;
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}

/**
 * A development token, HS256-signed with AUTH_JWT_SECRET (what a gateway with
 * that secret accepts). An application mints its own from its sign-in; this is
 * for trying identity out and for tests.
 */
export async function mintDevToken(secret: string, claims: DevTokenClaims, now = Date.now()): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  let jwt = new SignJWT({
    ...(claims.name !== undefined && { name: claims.name }),
    ...(claims.rooms !== undefined && { rooms: [...claims.rooms] }),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + claims.ttlSeconds);
  if (claims.issuer !== undefined) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

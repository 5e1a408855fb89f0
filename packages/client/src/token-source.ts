/** Where the client's token comes from: one string, or a function asked at every connection and before expiry. */
export type TokenOption = string | (() => string | Promise<string>);

/** The shortest wait before a refresh, in ms: a token that is (nearly) expired is not asked for in a loop. */
export const MIN_REFRESH_DELAY_MS = 250;
/** At most this long before `exp` a token is refreshed, in ms (a short-lived token: a quarter of what it has left). */
export const REFRESH_MARGIN_MS = 30_000;

/**
 * The token a connection carries (identity on: the gateway refuses the upgrade
 * without one). getToken() is asked before every connection (the first, each
 * reconnect, the one after an upgrade refused with 401, which a browser sees
 * only as a failed connection) and before the token in use expires (refreshDelay),
 * so a connection is never opened or kept with a stale token.
 */
export class TokenSource {
  constructor(private readonly option: TokenOption) {}

  /** Whether a new token can be had (a function), or only the one given. */
  get renewable(): boolean {
    return typeof this.option === 'function';
  }

  /** A token now: the one given, or a fresh one from the function. Rejects when the function fails or gives no string. */
  async next(): Promise<string> {
    const token = typeof this.option === 'function' ? await this.option() : this.option;
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('getToken must give a non-empty string');
    return token;
  }
}

/** `url` with `token` in its `token` query parameter (browsers cannot set a header on a WebSocket upgrade). */
export function withToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}

/** A JWT's `exp`, in ms since the Unix epoch, read without checking its signature (the server does); undefined when it has none. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before refreshing `token`, in ms: REFRESH_MARGIN_MS before its
 * `exp`, or, for a token with less than four times that left, when a quarter of
 * what it has left remains; at least MIN_REFRESH_DELAY_MS. Undefined for a token
 * with no `exp` (nothing to refresh).
 */
export function refreshDelay(token: string, now: number): number | undefined {
  const exp = tokenExpiry(token);
  if (exp === undefined) return undefined;
  const left = exp - now;
  return Math.max(MIN_REFRESH_DELAY_MS, left - Math.min(REFRESH_MARGIN_MS, left / 4));
}

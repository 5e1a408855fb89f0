import { z } from 'zod';
import { kind, list, type Kind } from '@switchboard/config';

/**
 * Which pages may open a WebSocket here, by their `Origin`: any (`*`), those
 * listed (normalized, e.g. `https://chat.example.com`), or, when unset, only a
 * page of the same origin (its host[:port] is the request's `Host`).
 */
export type AllowedOrigins = '*' | readonly string[] | undefined;

/** The settings' kind of ALLOWED_ORIGINS: `*`, or a comma-separated list of origins. */
export function allowedOrigins(): Kind<'*' | string[]> {
  const origins = list(
    kind('an origin (scheme://host[:port])', (error) =>
      z.string().transform((value, ctx) => {
        const origin = parseOrigin(value.trim());
        if (origin !== undefined) return origin;
        ctx.issues.push({ code: 'custom', message: error, input: value });
        return z.NEVER;
      }),
    ),
  );
  return kind(`* or ${origins.expects}`, (error) =>
    z.string().transform((raw, ctx): '*' | string[] => {
      if (raw.trim() === '*') return '*';
      const parsed = origins.schema.safeParse(raw);
      if (parsed.success) return parsed.data;
      ctx.issues.push({ code: 'custom', message: error, input: raw });
      return z.NEVER;
    }),
  );
}

/**
 * Whether a WebSocket upgrade from `origin` (its `Origin` header) may proceed.
 * No `Origin`: not a browser (a browser always sends one on a WebSocket
 * upgrade), accepted. `Origin: null` (a sandboxed frame, a file) is accepted
 * only by `*`.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: AllowedOrigins): boolean {
  if (origin === undefined) return true;
  if (allowed === '*') return true;
  const normalized = parseOrigin(origin);
  if (normalized === undefined) return false;
  if (allowed !== undefined) return allowed.includes(normalized);
  if (host === undefined || !/^[\w.-]+(:\d+)?$|^\[[\da-fA-F:.]+\](:\d+)?$/.test(host)) return false;
  // Host as the browser would have written it for this scheme (so `:443` on https is no port).
  const scheme = new URL(normalized).protocol;
  const sameHost = parseUrl(`${scheme}//${host}`);
  return sameHost !== undefined && sameHost.origin === normalized;
}

/** `scheme://host[:port]` in the form browsers send (lower case, default port dropped), or undefined. */
function parseOrigin(text: string): string | undefined {
  const url = parseUrl(text);
  if (url === undefined || url.origin === 'null' || url.username !== '' || url.password !== '') return undefined;
  if (`${url.origin}/` !== url.href && url.origin !== text) return undefined; // a path, query or fragment
  return url.origin;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

import type { IncomingMessage } from 'node:http';

/** The query parameter an upgrade may carry its token in (browsers cannot set headers on a WebSocket). */
export const TOKEN_PARAMETER = 'token';

/** The token an upgrade carries: `Authorization: Bearer`, else the `token` query parameter; undefined when neither. */
export function tokenFromRequest(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const url = req.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  const token = new URLSearchParams(url.slice(query + 1)).get(TOKEN_PARAMETER);
  return token === null || token === '' ? undefined : token;
}

/** A request's URL with its query string's values hidden: what a log line may show. */
export function redactedUrl(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : `${url.slice(0, query)}?[redacted]`;
}

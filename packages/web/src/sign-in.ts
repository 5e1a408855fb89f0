/** The `<meta>` the gateway adds to the page when PAGE_TOKEN_URL is set (services/gateway/src/http/app.ts). */
export const TOKEN_URL_META = 'switchboard-token-url';

/** What the SDK's failed attempt says when there was no token to connect with (see tokenFetcher). */
export const NO_TOKEN_REASON = /^no token: /;

/** Where the page gets its token (PAGE_TOKEN_URL), or undefined when the gateway needs none (identity off). */
export function tokenUrlOf(doc: Document): string | undefined {
  const content = doc.querySelector<HTMLMetaElement>(`meta[name="${TOKEN_URL_META}"]`)?.content;
  return content === undefined || content === '' ? undefined : content;
}

/**
 * The page's getToken: the application's endpoint, called with the page's
 * cookies, answering `{"token"}`. Anything else (not signed in: 401, no
 * `token`, the endpoint down) rejects, saying "sign-in required"; the SDK
 * then counts the attempt as failed and tries again with its backoff, so the
 * page connects once its person has signed in (in another tab, say).
 */
export function tokenFetcher(tokenUrl: string, fetchToken: typeof fetch = fetch): () => Promise<string> {
  return async () => {
    let token: unknown;
    try {
      const response = await fetchToken(tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (response.ok) token = ((await response.json()) as { token?: unknown }).token;
    } catch {
      // Unreachable or not JSON: no token, as below.
    }
    if (typeof token !== 'string' || token === '') throw new Error('sign-in required');
    return token;
  };
}

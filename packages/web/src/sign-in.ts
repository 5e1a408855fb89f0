/** The `<meta>` the gateway adds to the page when PAGE_TOKEN_URL is set (services/gateway/src/http/app.ts). */
export const TOKEN_URL_META = 'switchboard-token-url';

/** What the SDK's failed attempt says when there was no token to connect with (see tokenFetcher). */
export const NO_TOKEN_REASON = /^no token: /;

/** Where the page gets its token (PAGE_TOKEN_URL), or undefined when the gateway needs none (identity off). */
export function tokenUrlOf(doc: Document): string | undefined {
  const content = doc.querySelector<HTMLMetaElement>(`meta[name="${TOKEN_URL_META}"]`)?.content;
  return content === undefined || content === '' ? undefined : content;
}

/** The start of every refusal of tokenFetcher, and all of it when the person is simply not signed in (401, 403). */
export const SIGN_IN_REQUIRED = 'sign-in required';

/**
 * The page's getToken: the application's endpoint, called with the page's
 * cookies, answering `{"token"}`. Anything else rejects, saying "sign-in
 * required" and, when it is not simply that (401, 403), why: the endpoint
 * answered another error status, something that is not JSON, JSON without a
 * `token`, or could not be reached. The SDK then counts the attempt as failed
 * and tries again with its backoff, so the page connects once its person has
 * signed in (in another tab, say).
 */
export function tokenFetcher(tokenUrl: string, fetchToken: typeof fetch = fetch): () => Promise<string> {
  const refused = (why: string) => new Error(`${SIGN_IN_REQUIRED}: ${why}`);
  return async () => {
    let response: Response;
    try {
      response = await fetchToken(tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch {
      throw refused('the sign-in service could not be reached');
    }
    if (response.status === 401 || response.status === 403) throw new Error(SIGN_IN_REQUIRED);
    if (!response.ok) throw refused(`the sign-in service answered ${response.status}`);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw refused('the sign-in service did not answer JSON');
    }
    const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || token === '') throw refused('the sign-in service gave no token');
    return token;
  };
}

/** Why a tokenFetcher refusal (or the close reason it became) says no token came, if it says more than "sign-in required". */
function whyOf(text: string): string {
  return text.replace(NO_TOKEN_REASON, '').replace(/^sign-in required:?\s*/, '');
}

/** The status line while no token can be had (a close whose reason matches NO_TOKEN_REASON): "Sign-in required", and why. */
export function signInText(closeReason: string): string {
  const why = whyOf(closeReason);
  return why === '' ? 'Sign-in required' : `Sign-in required (${why})`;
}

/**
 * What the page says when a token could not be renewed on an open connection
 * (the SDK's `tokenError`): getToken failed, or the gateway refused the new
 * token (its sentence). The SDK asks again in 5 s; the connection goes on.
 */
export function renewalText(err: Error): string {
  const refusedHere = err.message.startsWith(SIGN_IN_REQUIRED);
  const why = refusedHere ? whyOf(err.message) || 'you are signed out' : err.message;
  return `Your sign-in could not be renewed: ${why.replace(/\.$/, '')}. Trying again in a few seconds.`;
}

import { safeText } from './format.js';

/** How long to wait for the backend API, in ms. */
const API_TIMEOUT_MS = 10_000;

/** A refusal or failure of the backend API, as one line for the terminal. */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
}

/**
 * Call a gateway's backend API (`/api/*` on its metrics port, API_KEY set):
 * POST `body` as JSON (GET without one), with `Authorization: Bearer KEY`.
 * Resolves with the JSON answer; rejects with ApiCallError saying the status
 * and the API's own message (defused: it comes from the network).
 */
export async function callApi(
  base: string,
  key: string,
  path: string,
  body?: object,
  headers: Readonly<Record<string, string>> = {},
): Promise<Record<string, unknown>> {
  const url = new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${key}`, ...(body !== undefined && { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (err) {
    throw new ApiCallError(`cannot reach ${url.origin}: ${(err as Error).message}`);
  }
  let answer: Record<string, unknown>;
  try {
    answer = (await response.json()) as Record<string, unknown>;
  } catch {
    throw new ApiCallError(`${url.origin}${url.pathname} answered ${response.status}, not JSON: is API_URL a gateway's metrics port?`);
  }
  if (!response.ok) {
    const code = typeof answer.error === 'string' ? ` ${safeText(answer.error)}` : '';
    const message = typeof answer.message === 'string' ? `: ${safeText(answer.message)}` : '';
    throw new ApiCallError(`${response.status}${code}${message}`);
  }
  return answer;
}

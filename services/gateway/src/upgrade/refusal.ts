import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { TOKEN_REFUSAL_SENTENCES, type TokenRefusal } from '../auth/token-verifier.js';

/** Why an upgrade was refused: the `reason` of the JSON body and of the log line. */
export type RefusalReason = 'not-found' | 'origin-not-allowed' | 'not-ready' | 'node-full' | 'address-full' | 'address-rate' | TokenRefusal;

/** An upgrade refused before any WebSocket exists: an HTTP status and a small JSON body. */
export interface Refusal {
  readonly status: number;
  readonly reason: RefusalReason;
  /** A sentence for a person, the body's `error`. */
  readonly error: string;
  /** Extra fields of the body (and the log line). */
  readonly detail?: Readonly<Record<string, string | number>>;
  /** Seconds to wait before trying again (`Retry-After`). */
  readonly retryAfterSec?: number;
}

/** The refusals, each with its status. */
export const Refusals = {
  notFound: (path: string): Refusal => ({ status: 404, reason: 'not-found', error: `WebSocket endpoint is ${path}` }),
  originNotAllowed: (): Refusal => ({ status: 403, reason: 'origin-not-allowed', error: 'origin not allowed' }),
  notReady: (why = 'unknown'): Refusal => ({ status: 503, reason: 'not-ready', error: 'node not ready', detail: { why } }),
  nodeFull: (max: number): Refusal => ({ status: 503, reason: 'node-full', error: 'node is full', detail: { max } }),
  addressFull: (max: number): Refusal => ({
    status: 429,
    reason: 'address-full',
    error: 'too many connections from this address',
    detail: { max },
  }),
  addressRate: (perSec: number): Refusal => ({
    status: 429,
    reason: 'address-rate',
    error: 'connecting too fast from this address',
    detail: { perSec },
    retryAfterSec: Math.max(1, Math.ceil(1 / perSec)),
  }),
  /** Identity on: no token, or one refused (never echoed back, nor anything read from it). */
  token: (reason: TokenRefusal): Refusal => ({ status: 401, reason, error: TOKEN_REFUSAL_SENTENCES[reason] }),
} as const;

/** Answer an upgrade request with `refusal` and close the connection (destroyed once written, as ws does). */
export function writeRefusal(socket: Duplex, refusal: Refusal): void {
  socket.once('finish', () => socket.destroy());
  const body = JSON.stringify({ error: refusal.error, reason: refusal.reason, ...refusal.detail });
  const retryAfter = refusal.retryAfterSec === undefined ? '' : `Retry-After: ${refusal.retryAfterSec}\r\n`;
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      'Cache-Control: no-store\r\n' +
      retryAfter +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

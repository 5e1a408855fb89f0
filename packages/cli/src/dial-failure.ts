import { STATUS_CODES } from 'node:http';
import type { CloseInfo, WebSocketConstructor, WebSocketLike } from '@switchboard/client';

/** Network errors, by code, as a person would say them. */
const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'DNS lookup failed (try again later)',
  EPIPE: 'connection closed while sending',
};

/** TLS errors that say the server's certificate is not trusted: `--ca` is the answer. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** `ws`'s words for an upgrade answered with another status than 101. */
const UNEXPECTED_RESPONSE = /^Unexpected server response: (\d{3})$/;

/**
 * Why a connection to `url` could not be made, in words: `connection refused`,
 * `host example.invalid not found (DNS)`, `TLS: certificate has expired`,
 * `HTTP 503 Service Unavailable on upgrade`... from the error `ws` reported.
 */
export function dialFailure(err: unknown, url: string): string {
  const error = err as { code?: unknown; message?: unknown; errors?: unknown } | undefined;
  // Node gives an AggregateError when every address of a name failed (localhost: ::1 and 127.0.0.1).
  const first = Array.isArray(error?.errors) ? (error.errors[0] as typeof error) : undefined;
  const code = typeof error?.code === 'string' ? error.code : typeof first?.code === 'string' ? first.code : undefined;
  const message = typeof error?.message === 'string' && error.message !== '' ? error.message : String(first?.message ?? err);
  const status = UNEXPECTED_RESPONSE.exec(message)?.[1];
  if (status !== undefined) return `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''} on upgrade`;
  if (code === 'ENOTFOUND') return `host ${hostOf(url)} not found (DNS)`;
  if (code !== undefined && NETWORK[code]) return NETWORK[code];
  if (code !== undefined && UNTRUSTED.has(code)) return `TLS: ${message} (--ca FILE trusts its authority)`;
  if (code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT'))) return `TLS: ${message}`;
  if (code === 'EPROTO') return `TLS: ${message}`;
  return message;
}

/** Why a connection that opened ended before the client was welcomed: the close the SDK reported. */
export function closeFailure(close: CloseInfo): string {
  if (close.code === 1006 && close.reason !== '') return close.reason; // the SDK's own: "no welcome within 10000 ms"
  return `closed by the server (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
}

/**
 * The WebSocket the client dials with, `Base` (ws's), reporting the error of
 * the latest dial, if any: the SDK keeps only close codes, and a refused or
 * failed connection closes with 1006 whatever the reason.
 */
export class DialReports {
  readonly WebSocket: WebSocketConstructor;
  private lastError: unknown;

  constructor(Base: WebSocketConstructor) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below reports to this object
    const reports = this;
    this.WebSocket = class Reporting extends Base {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        reports.lastError = undefined;
        const emitter = this as WebSocketLike & { on?: (event: 'error', listener: (err: Error) => void) => unknown };
        emitter.on?.('error', (err) => {
          reports.lastError = err;
        });
      }
    };
  }

  /** The error of the latest dial, if it failed with one. */
  get error(): unknown {
    return this.lastError;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

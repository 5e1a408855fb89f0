import type { ServerOptions } from 'node:http';

export interface HttpServerOptions {
  /** HEADERS_TIMEOUT_MS: time to send a request's headers (and the whole request), ms. */
  readonly headersTimeoutMs: number;
}

/** How often node checks open requests against the timeouts, ms, at most (node's default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * The node's server timeouts (for node:http and node:https alike). A request
 * whose headers (WebSocket upgrades included) are not complete within
 * HEADERS_TIMEOUT_MS is answered 408 and closed, so a client that trickles a
 * header byte at a time (slowloris) cannot hold a connection. The whole request
 * has the same time: the gateway takes no request bodies. Node checks these
 * timeouts every TIMEOUT_CHECK_MS.
 */
export function serverTimeouts({ headersTimeoutMs }: HttpServerOptions): ServerOptions {
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: headersTimeoutMs,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, headersTimeoutMs),
  };
}

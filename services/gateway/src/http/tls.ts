import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** What the node needs to serve HTTPS: TLS_CERT, TLS_KEY (both checked when read, see config/tls-files.ts) and HSTS_MAX_AGE_SECONDS. */
export interface TlsSettings {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly hstsMaxAgeSeconds: number;
}

/**
 * The node's web server, for HTTP and WebSocket upgrades alike: node:https with
 * the certificate and key when TLS_CERT and TLS_KEY are set (a plain request on
 * that port fails its TLS handshake), else node:http as before. `options` (node's
 * server options: timeouts and the like) apply to either.
 *
 * Over TLS every answer of `app` carries `Strict-Transport-Security`; plain HTTP
 * never does (a browser ignores it there, and it would be a lie).
 */
export function createWebServer(app: RequestListener, settings: TlsSettings, options: ServerOptions = {}): Server {
  const { tlsCert, tlsKey, hstsMaxAgeSeconds } = settings;
  if (tlsCert === undefined || tlsKey === undefined) return createHttpServer(options, app);
  const hsts = `max-age=${hstsMaxAgeSeconds}`;
  return createHttpsServer({ ...options, cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, (req, res) => {
    res.setHeader('Strict-Transport-Security', hsts);
    app(req, res);
  });
}

/** `https` when the server serves TLS, else `http`: for log lines and URLs. */
export function schemeOf(settings: TlsSettings): 'http' | 'https' {
  return settings.tlsCert !== undefined && settings.tlsKey !== undefined ? 'https' : 'http';
}

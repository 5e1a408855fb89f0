import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { takesClients, type BusHealth } from '../bus/bus.js';
import { BUNDLED_PUBLIC_DIR } from '../config/gateway-config.js';
import type { Logger } from '../logger.js';
import { securityHeaders } from './security-headers.js';

export interface HttpAppOptions {
  /** The page's folder; the bundled page (BUNDLED_PUBLIC_DIR) gets a strict CSP, any other folder a lenient one. */
  readonly publicDir: string;
  /** Whether this node should get new clients now. */
  readonly readiness: () => BusHealth;
  readonly logger: Logger;
  /** PAGE_TOKEN_URL: given to the page in a `<meta name="switchboard-token-url">` of `/` (unset: `/` is the file as it is). */
  readonly pageTokenUrl?: string;
}

/** The `<meta>` that tells the page where its token comes from (read by packages/web's sign-in.ts). */
export const TOKEN_URL_META = 'switchboard-token-url';

/**
 * The HTTP side of a node: the chat page and its files, and the probes a load
 * balancer or orchestrator uses. WebSocket upgrades never reach it (see SocketServer).
 */
export function createHttpApp({ publicDir, readiness, logger, pageTokenUrl }: HttpAppOptions): Express {
  const log = logger.child({ module: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(publicDir, BUNDLED_PUBLIC_DIR));

  // Liveness: the process is up and its event loop turns.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Readiness: the bus is connected (every Redis shard heard) and the node is not shutting down.
  // `?for=clients` (what a load balancer asks): whether it takes new clients, which it does while only
  // some Redis shard is not heard (every node hears the same; the rooms of the other shards serve).
  app.get('/readyz', (req, res) => {
    const health = readiness();
    if (health.ready) res.json({ status: 'ready' });
    else if (req.query.for === 'clients' && takesClients(health))
      res.json({ status: 'taking clients', reason: health.reason, unheardShards: health.unheardShards });
    else
      res
        .status(503)
        .json({ status: 'not ready', reason: health.reason, ...(health.unheardShards && { unheardShards: health.unheardShards }) });
  });

  // The seed's home handler: GET / serves the page, any other method is 405.
  app.all('/', (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    res.set('Allow', 'GET, HEAD').status(405).type('text/plain').send('Method not allowed');
  });
  if (pageTokenUrl === undefined) {
    app.get('/', (_req, res, next) => {
      res.sendFile(join(publicDir, 'index.html'), (err) => err && next(err));
    });
  } else {
    // Identity on: the page, with where its token comes from in a <meta> of its head (read once, kept).
    let page: Promise<string> | undefined;
    app.get('/', (_req, res, next) => {
      page ??= readFile(join(publicDir, 'index.html'), 'utf8').then((html) => withTokenUrl(html, pageTokenUrl));
      page.then(
        (html) => res.type('html').set('Cache-Control', 'no-cache').send(html),
        (err: Error) => {
          page = undefined;
          next(err);
        },
      );
    });
  }

  // A plain GET on the WebSocket path: say what is expected there.
  app.get('/ws', (_req, res) => {
    res.status(426).set('Upgrade', 'websocket').type('text/plain').send('Upgrade Required: connect with WebSocket');
  });

  app.use(express.static(publicDir, { index: false, fallthrough: true }));

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found');
  });

  app.use((err: Error & { status?: number }, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = err.status ?? 500;
    if (status >= 500) log.error({ err, path: req.path }, 'request failed');
    res
      .status(status)
      .type('text/plain')
      .send(status === 404 ? 'Not found' : 'Internal error');
  });

  return app;
}

/** `html` with the token URL's `<meta>` first in its head. */
function withTokenUrl(html: string, tokenUrl: string): string {
  const escaped = tokenUrl.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return html.replace(/<head>/i, `<head>\n    <meta name="${TOKEN_URL_META}" content="${escaped}" />`);
}

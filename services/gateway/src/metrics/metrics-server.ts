import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterReport, ClusterSnapshot } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import type { ClusterView } from '../dashboard/cluster-view.js';

/** The dashboard page and its bundle (packages/dashboard builds dashboard.js and dashboard.css here). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** The files of DASHBOARD_DIR served, and their types: nothing else is read from disk. */
const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/dashboard.js': 'dashboard.js',
  '/dashboard.js.map': 'dashboard.js.map',
  '/dashboard.css': 'dashboard.css',
  '/favicon.svg': 'favicon.svg',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The page's own files only: no inline script or style, no other origin, not framed. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Most event streams open at once (each costs a snapshot a second); more get 503. */
const MAX_STREAMS = 32;
/** An event stream whose reader lets this many bytes pile up is closed. */
const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;

export interface MetricsServerOptions {
  readonly port: number;
  readonly host: string;
  /** The Prometheus text exposition and its content type. */
  readonly scrape: () => Promise<string>;
  readonly contentType: string;
  readonly view: ClusterView;
  readonly logger: Logger;
  readonly dashboardDir?: string;
}

/**
 * The metrics port (METRICS_PORT), a server of its own, never the public one
 * (so never reachable through the load balancer's public frontend):
 *
 *   GET /metrics        Prometheus text format
 *   GET /cluster.json   every node's latest stats record (ClusterSnapshot); `?history`: with the last 15 minutes
 *   GET /events         the same snapshot every second, as server-sent events
 *   GET /               the live dashboard page (and its files)
 *   GET /healthz        200 while the server runs (the load balancer's admin listener checks it)
 */
export class MetricsServer {
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();
  private readonly log: Logger;
  private readonly dir: string;

  constructor(private readonly options: MetricsServerOptions) {
    this.log = options.logger.child({ module: 'metrics' });
    this.dir = options.dashboardDir ?? DASHBOARD_DIR;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: Error) => {
        this.log.error({ err, path: req.url }, 'metrics request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'Internal error');
        else res.destroy();
      });
    });
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.log.info(
      { metricsPort: address.port, host: address.address },
      `metrics and dashboard on http://${address.address}:${address.port}`,
    );
    return address;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'text/plain', 'Method not allowed');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/metrics':
        send(res, 200, this.options.contentType, await this.options.scrape());
        return;
      case '/cluster.json': {
        const { view } = this.options;
        const report: ClusterReport = url.searchParams.has('history') ? { ...view.snapshot(), history: view.history() } : view.snapshot();
        res.setHeader('Cache-Control', 'no-store');
        send(res, 200, 'application/json', JSON.stringify(report));
        return;
      }
      case '/events':
        this.stream(req, res);
        return;
      case '/healthz':
        send(res, 200, 'application/json', '{"status":"ok"}');
        return;
      default:
        await this.file(url.pathname, res);
    }
  }

  /** Server-sent events: one `data:` line with a ClusterSnapshot every second. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      send(res, 503, 'text/plain', 'Too many dashboards open on this node');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const write = (snapshot: ClusterSnapshot) => {
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        res.destroy();
        return;
      }
      res.write(`data: ${JSON.stringify(snapshot)}\n\n`);
    };
    write(this.options.view.snapshot());
    const unsubscribe = this.options.view.subscribe(write);
    this.streams.add(res);
    req.socket.setNoDelay(true);
    res.once('close', () => {
      unsubscribe();
      this.streams.delete(res);
    });
  }

  private async file(path: string, res: ServerResponse): Promise<void> {
    const name = DASHBOARD_FILES[path];
    if (name === undefined) {
      send(res, 404, 'text/plain', 'Not found');
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(join(this.dir, name));
    } catch {
      send(res, 404, 'text/plain', `Not found (${name} is built by npm run build)`);
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    send(res, 200, TYPES[name.split('.').pop()!] ?? 'application/octet-stream', body);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

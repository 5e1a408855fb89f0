import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_PAGE_URL } from '@switchboard/dashboard';
import type { ClusterReport } from '@switchboard/protocol';
import { send } from '../http/send.js';
import type { ClusterView } from './cluster-view.js';
import { SnapshotStreams } from './snapshot-streams.js';

/** The built dashboard page (packages/dashboard, built into its dist/public). */
export const DASHBOARD_DIR = fileURLToPath(BUILT_PAGE_URL);

/**
 * The files of DASHBOARD_DIR served, and their types: nothing else is read from
 * disk. `npm run build` makes no source map (`/dashboard.js.map` is 404); only
 * `npm run bundle:dev -w @switchboard/dashboard` does, for debugging.
 */
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

/**
 * The live dashboard's part of the metrics port (GET and HEAD):
 *
 *   GET /               the dashboard page (and its files)
 *   GET /cluster.json   every node's latest stats record (ClusterSnapshot); `?history`: with the last 15 minutes
 *   GET /events         the same snapshot every second, as server-sent events
 */
export class DashboardRoutes {
  private readonly streams: SnapshotStreams;

  constructor(private readonly view: ClusterView) {
    this.streams = new SnapshotStreams(view);
  }

  /** Answer the request for `url` if it is the dashboard's, and say whether it was. */
  async answer(url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (url.pathname) {
      case '/cluster.json': {
        const { view } = this;
        const report: ClusterReport = url.searchParams.has('history') ? { ...view.snapshot(), history: view.history() } : view.snapshot();
        res.setHeader('Cache-Control', 'no-store');
        send(res, 200, 'application/json', JSON.stringify(report));
        return true;
      }
      case '/events':
        this.streams.open(req, res);
        return true;
      default:
        return this.file(url.pathname, res);
    }
  }

  /** End the event streams. */
  close(): void {
    this.streams.close();
  }

  private async file(path: string, res: ServerResponse): Promise<boolean> {
    const name = DASHBOARD_FILES[path];
    if (name === undefined) return false;
    let body: Buffer;
    try {
      body = await readFile(join(DASHBOARD_DIR, name));
    } catch {
      send(res, 404, 'text/plain', `Not found (${name} is built by npm run build)`);
      return true;
    }
    res.setHeader('Cache-Control', 'no-cache');
    send(res, 200, TYPES[name.split('.').pop()!] ?? 'application/octet-stream', body);
    return true;
  }
}

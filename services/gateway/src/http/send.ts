import type { ServerResponse } from 'node:http';

/**
 * A whole answer of a plain node:http server (the metrics port) at once, with
 * its length; a HEAD request gets the headers only.
 */
export function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SUBPROTOCOL_V2 } from '@switchboard/protocol';
import type { BusHealth } from '../bus/bus.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { Connection, type ConnectionLimits } from './connection.js';

export const WEBSOCKET_PATH = '/ws';

export interface SocketServerOptions extends ConnectionLimits {
  readonly maxMessageBytes: number;
}

/**
 * Accepts WebSocket upgrades on /ws and turns each into a Connection on the hub.
 * A node that is not ready (bus down, shutting down) refuses upgrades with 503 so
 * the load balancer's retry lands the client on a node that is.
 */
export class SocketServer {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly log: Logger;
  private readonly connectionLog: Logger;

  constructor(
    private readonly hub: Hub,
    private readonly options: SocketServerOptions,
    private readonly readiness: () => BusHealth,
    logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.log = logger.child({ module: 'ws' });
    this.connectionLog = logger.child({ module: 'connection' });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // Offering `switchboard.v2` selects protocol v2; anything else (or nothing) is the seed protocol.
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL_V2) ? SUBPROTOCOL_V2 : false),
    });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  get size(): number {
    return this.connections.size;
  }

  /** Close every connection with `code`; resolves when all are closed (or destroyed after a grace period). */
  async closeAll(code: number, reason: string): Promise<void> {
    const all = [...this.connections];
    for (const conn of all) conn.close(code, reason);
    await Promise.all(all.map((conn) => conn.closed));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'upgrade socket error'));
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WEBSOCKET_PATH) {
      this.metrics.connectionRefused('not_found');
      refuse(socket, 404, 'Not Found', { error: `WebSocket endpoint is ${WEBSOCKET_PATH}` });
      return;
    }
    const health = this.readiness();
    if (!health.ready) {
      this.metrics.connectionRefused('not_ready');
      this.log.info({ reason: health.reason }, 'refused upgrade: node not ready');
      refuse(socket, 503, 'Service Unavailable', { error: 'node not ready', reason: health.reason });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const protocol = ws.protocol === SUBPROTOCOL_V2 ? 'v2' : 'v1';
    const conn = new Connection(ws, protocol, this.hub, this.options, this.connectionLog, this.metrics);
    this.connections.add(conn);
    this.metrics.connectionOpened(protocol);
    void conn.closed.then(() => this.connections.delete(conn));
    void conn.closed.then(() => this.metrics.connectionClosed(protocol));
    conn.log.info(
      {
        protocol,
        remote: req.socket.remoteAddress,
        forwardedFor: req.headers['x-forwarded-for'],
        userAgent: req.headers['user-agent'],
      },
      'connection opened',
    );
  }
}

function refuse(socket: Duplex, status: number, statusText: string, body: object): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
}

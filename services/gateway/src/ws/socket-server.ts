import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SUBPROTOCOL_V2 } from '@switchboard/protocol';
import { Refusals, writeRefusal, type Refusal, type RefusalReason } from '../upgrade/refusal.js';
import type { HeldSession } from '../upgrade/connection-limiter.js';
import { UpgradeGate, type UpgradeGateOptions } from '../upgrade/upgrade-gate.js';
import { takesClients, type BusHealth, type PausableReads } from '../bus/bus.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { Metrics, RefusalReason as RefusalMetric } from '../metrics/metrics.js';
import { Connection, type ConnectionContext, type ConnectionLimits } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { Heartbeat } from './heartbeat.js';
import { startable, type TokenRefusal, type TokenVerifier, type UserToken } from '../auth/token-verifier.js';
import { tokenFromRequest } from '../auth/token-from-request.js';
import { UserRates } from './user-rates.js';

/** Each refusal's metric label: one of a small set (see metrics.ts). */
const REFUSAL_METRIC: Readonly<Record<RefusalReason, RefusalMetric>> = {
  'not-found': 'not_found',
  'origin-not-allowed': 'origin',
  'not-ready': 'not_ready',
  'node-full': 'limits',
  'address-full': 'limits',
  'address-rate': 'limits',
  token_missing: 'token_missing',
  token_malformed: 'token_malformed',
  token_signature: 'token_signature',
  token_algorithm: 'token_algorithm',
  token_expired: 'token_expired',
  token_not_yet_valid: 'token_not_yet_valid',
  token_issuer: 'token_issuer',
  token_audience: 'token_audience',
  token_claims: 'token_claims',
  token_no_room: 'token_no_room',
  token_keys_unavailable: 'token_keys_unavailable',
};

export const WEBSOCKET_PATH = '/ws';

export interface SocketServerOptions extends ConnectionLimits, UpgradeGateOptions {
  readonly maxMessageBytes: number;
  /** WRITE_COALESCE_MS: see FlushScheduler. */
  readonly writeCoalesceMs: number;
  /** AUTH_EXPIRY_GRACE_MS: how long a connection outlives its token, waiting for a refresh. */
  readonly authExpiryGraceMs: number;
}

/**
 * Accepts WebSocket upgrades on /ws and turns each into a Connection on the hub.
 * Every refusal is an HTTP answer before the upgrade, logged with its reason:
 * another path (404); a node that is not ready (bus down, shutting down: 503, so
 * the load balancer's retry lands the client on a node that is; a Redis shard
 * that is not heard is not refused for: /readyz says it, and the rooms on the
 * other shards are served); then the
 * UpgradeGate's admission control (origin 403, node full 503, per-address cap
 * and rate 429); then, identity on (a TokenVerifier given), the token (401 with
 * the reason), all before any Redis work. A v2 upgrade without a token may
 * bring it in its `hello` (checked there, see Connection).
 *
 * The gate also counts the v2 sessions that dropped here and wait for a resume
 * against their address's cap (the hub tells it of them): when it ends one to
 * make room, the hub ends the session, as if its grace had run out.
 */
export class SocketServer {
  private readonly wss: WebSocketServer;
  private readonly gate: UpgradeGate;
  private readonly connections = new Set<Connection>();
  private readonly log: Logger;
  /** What every connection of this node shares: one flush scheduler, one heartbeat. */
  private readonly context: ConnectionContext;

  constructor(
    private readonly hub: Hub,
    private readonly options: SocketServerOptions,
    private readonly readiness: () => BusHealth,
    logger: Logger,
    private readonly metrics: Metrics,
    /** The bus's reading, held while the node rests between flushes (see FlushScheduler). */
    busReads?: PausableReads,
    /** Identity on: checks connection tokens. Undefined: identity off, anyone may connect. */
    private readonly verifier?: TokenVerifier,
  ) {
    this.log = logger.child({ module: 'ws' });
    this.context = {
      ended: (conn) => {
        this.connections.delete(conn);
        this.metrics.connectionClosed(conn.protocol);
      },
      hub,
      limits: options,
      flush: new FlushScheduler(options.writeCoalesceMs, busReads),
      heartbeat: new Heartbeat(options.pingIntervalMs),
      log: logger.child({ module: 'connection' }),
      metrics,
      ...(verifier && {
        identity: {
          verifier,
          expiryGraceMs: options.authExpiryGraceMs,
          rates: new UserRates(options.messageRatePerSec, options.messageBurst),
        },
      }),
    };
    this.gate = new UpgradeGate(options);
    hub.countHolds({
      held: (address, session, forMs) => this.endHeld(this.gate.hold(address, session, forMs), address),
      released: (token) => this.gate.unhold(token),
    });
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
    await Promise.all(all.map((conn) => conn.whenClosed()));
  }

  /**
   * Errors of a socket until ws takes it over; one listener for all (a closure
   * made in onUpgrade would keep the upgrade request alive as long as the socket).
   */
  private readonly onUpgradeError = (err: Error): void => this.log.debug({ err: err.message }, 'upgrade socket error');

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', this.onUpgradeError);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WEBSOCKET_PATH) {
      this.refuse(req, socket, Refusals.notFound(WEBSOCKET_PATH));
      return;
    }
    const health = this.readiness();
    if (!takesClients(health)) {
      this.refuse(req, socket, Refusals.notReady(health.reason));
      return;
    }
    const admitted = this.gate.admit(req);
    if (!admitted.ok) {
      this.refuse(req, socket, admitted.refusal, admitted.address);
      return;
    }
    this.endHeld(admitted.ended, admitted.address);
    // The raw socket closes whatever happens next (a failed handshake, the end of the connection).
    if (socket.closed) admitted.release();
    else socket.on('close', admitted.release);
    if (this.verifier === undefined) {
      this.upgrade(req, socket, head, admitted.address, undefined);
      return;
    }
    const token = tokenFromRequest(req);
    if (token === undefined) {
      // Protocol v2 may bring its token in `hello` instead; the seed protocol cannot.
      if (offersV2(req)) this.upgrade(req, socket, head, admitted.address, undefined);
      else this.refuseToken(req, socket, 'token_missing', admitted);
      return;
    }
    this.verifier.verify(token).then(
      (answer) => {
        const verified = startable(answer);
        if (socket.destroyed) return;
        if (verified.ok) this.upgrade(req, socket, head, admitted.address, verified.user);
        else this.refuseToken(req, socket, verified.reason, admitted);
      },
      () => this.refuseToken(req, socket, 'token_keys_unavailable', admitted),
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, address: string, user: UserToken | undefined): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws listens for the socket's errors from here on.
      socket.off('error', this.onUpgradeError);
      this.accept(ws, req, address, user);
    });
  }

  /** A token missing or refused: 401, and the connection counts no more against its address. */
  private refuseToken(
    req: IncomingMessage,
    socket: Duplex,
    reason: TokenRefusal,
    admitted: { address: string; release: () => void },
  ): void {
    admitted.release();
    this.refuse(req, socket, Refusals.token(reason), admitted.address);
  }

  private accept(ws: WebSocket, req: IncomingMessage, address: string, user: UserToken | undefined): void {
    const protocol = ws.protocol === SUBPROTOCOL_V2 ? 'v2' : 'v1';
    const conn = new Connection(ws, protocol, this.context, address, user);
    this.connections.add(conn);
    this.metrics.connectionOpened(protocol);
    conn.log.debug(
      {
        protocol,
        remote: address,
        ...(address !== req.socket.remoteAddress && { peer: req.socket.remoteAddress }),
        userAgent: req.headers['user-agent'],
        ...(user && { user: user.sub }),
      },
      'connection opened',
    );
  }

  /**
   * End sessions that waited for a resume after a drop from `address`: the
   * address reached its cap (MAX_CONNECTIONS_PER_IP), and those are the first to go.
   */
  private endHeld(ended: readonly HeldSession[], address: string): void {
    for (const session of ended) {
      this.log.info(
        { reason: 'address-full', max: this.options.maxConnectionsPerIp, remote: address, conn: session.conn },
        'ending a session that waits for a resume: its address is at its cap',
      );
      this.hub.endHeld(session).catch((err: Error) => this.log.warn({ err: err.message, remote: address }, 'held session not ended'));
    }
  }

  /** Answer `refusal` instead of upgrading, and log it: nothing else happens, nothing is broadcast. */
  private refuse(req: IncomingMessage, socket: Duplex, refusal: Refusal, address = this.gate.addressOf(req)): void {
    this.log.info(
      { reason: refusal.reason, status: refusal.status, ...refusal.detail, remote: address, origin: req.headers.origin },
      'upgrade refused',
    );
    this.metrics.connectionRefused(REFUSAL_METRIC[refusal.reason]);
    writeRefusal(socket, refusal);
  }
}

/** Whether the upgrade offers protocol v2 (`Sec-WebSocket-Protocol`). */
function offersV2(req: IncomingMessage): boolean {
  const offered = req.headers['sec-websocket-protocol'];
  return offered !== undefined && offered.split(',').some((protocol) => protocol.trim() === SUBPROTOCOL_V2);
}

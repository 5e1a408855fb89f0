import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { CloseCode, MAX_MEMBERS_LISTED, MAX_ROOMS_LISTED } from '@switchboard/protocol';
import type { ApiBackend } from './api/api-backend.js';
import { takesClients, type Bus, type BusHealth } from './bus/bus.js';
import type { NodeLink } from './cluster/node-link.js';
import { clientLimits, type Config } from './config/gateway-config.js';
import { createHttpApp } from './http/app.js';
import { EventLoopMonitor } from './health/event-loop-monitor.js';
import { serverTimeouts } from './http/server.js';
import { createWebServer, schemeOf } from './http/tls.js';
import { Hub } from './hub/hub.js';
import type { Logger } from './logger.js';
import { noMetrics, type Metrics } from './metrics/metrics.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import { SocketServer } from './ws/socket-server.js';
import { keySourceOf } from './auth/auth-config.js';
import { JoseTokenVerifier } from './auth/jose-token-verifier.js';

/** The parts that tie a node to the others (or stand in for them on a lone node); main.ts picks them. */
export interface ClusterParts {
  readonly bus: Bus;
  readonly sessions: SessionRegistry;
  readonly link: NodeLink;
}

/**
 * One gateway node: HTTP, WebSocket and the hub around whichever Bus and
 * SessionRegistry it is given. main.ts decides which; this class never knows.
 */
export class Gateway {
  private readonly hub: Hub;
  private readonly sockets: SocketServer;
  private readonly server: Server;
  private readonly log: Logger;
  private shuttingDown = false;
  private stopped: Promise<void> | undefined;
  /** The readiness last logged, so each change is logged once. */
  private lastReady: BusHealth | undefined;

  private readonly bus: Bus;
  private readonly sessions: SessionRegistry;
  private readonly link: NodeLink;
  private readonly load: EventLoopMonitor;

  constructor(
    private readonly config: Config,
    parts: ClusterParts,
    logger: Logger,
    private readonly metrics: Metrics = noMetrics,
  ) {
    ({ bus: this.bus, sessions: this.sessions, link: this.link } = parts);
    this.log = logger.child({ module: 'gateway' });
    this.load = new EventLoopMonitor(config.maxEventLoopLagMs, (overloaded, lagMs) => {
      if (overloaded) this.log.warn({ lagMs, limitMs: config.maxEventLoopLagMs }, 'overloaded: refusing new clients');
      else this.log.info({ lagMs }, 'load back to normal');
      this.logReadiness();
    });
    const { nodeId, resumeGraceMs, resumeMaxEvents, resumeMaxBytes, historyOnJoin, presenceCacheMs } = config;
    this.hub = new Hub(
      this.bus,
      this.sessions,
      this.link,
      {
        nodeId,
        resumeGraceMs,
        resumeMaxEvents,
        resumeMaxBytes,
        historyOnJoin,
        presenceCacheMs,
        clientLimits: clientLimits(config),
        metrics,
      },
      logger,
    );
    const readiness = () => this.readiness();
    // Identity on when a token key source is set: every connection then needs a valid token.
    const verifier = keySourceOf(config) === undefined ? undefined : new JoseTokenVerifier(config);
    if (verifier) this.log.info({ source: keySourceOf(config), algorithms: verifier.algorithms }, 'identity on: tokens required');
    this.sockets = new SocketServer(this.hub, config, readiness, logger, metrics, this.bus.reads, verifier);
    this.server = createWebServer(
      createHttpApp({ publicDir: config.publicDir, readiness, logger, pageTokenUrl: config.pageTokenUrl }),
      config,
      serverTimeouts(config),
    );
    this.sockets.attach(this.server);
  }

  /** What the backend API (on the metrics port) asks of this node: its bus, presence and link. */
  backend(): ApiBackend {
    return {
      publish: (draft, once) => this.bus.publish(draft, once),
      rooms: () => this.sessions.rooms(MAX_ROOMS_LISTED),
      members: (room) => this.sessions.members(room, MAX_MEMBERS_LISTED),
      recent: (room, count) => this.bus.recent(room, count),
      disconnect: (user) => this.link.disconnectUser(user),
      historyOnJoin: this.config.historyOnJoin,
    };
  }

  /** Ready for new clients: the bus and the session store are up and the node is not shutting down. */
  readiness(): BusHealth {
    if (this.shuttingDown) return { ready: false, reason: 'shutting down' };
    if (this.load.overloaded) return { ready: false, reason: `overloaded (event loop lag ${Math.round(this.load.lagMs)} ms)` };
    const bus = this.bus.health();
    if (!takesClients(bus)) return bus;
    if (!this.sessions.ready()) return { ready: false, reason: 'session store unavailable (redis)' };
    // Ready, or ready but for shards not heard: /readyz says 503 naming them; upgrades are still taken (takesClients).
    return bus;
  }

  /**
   * Start the bus and listen. Resolves with the bound address. From then on every
   * change of readiness is logged: `gateway ready` each time the node can take
   * clients again (tests and the cluster runner wait for it), `gateway not ready`
   * with the reason each time it stops.
   */
  async listen(): Promise<AddressInfo> {
    this.hub.start();
    this.load.start();
    this.bus.onHealthChange(() => this.logReadiness());
    this.sessions.onHealthChange(() => this.logReadiness());
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const scheme = schemeOf(this.config);
    this.log.info({ port: address.port, host: address.address, scheme }, `listening on ${scheme}://${address.address}:${address.port}`);
    this.logReadiness();
    return address;
  }

  /**
   * Drain and stop: /readyz says 503 at once so the load balancer stops routing
   * here; after DRAIN_DELAY_MS every client is closed with 1012 (v2 sessions stay
   * resumable on other nodes; seed clients are announced as disconnected);
   * pending publishes are flushed, then the lease, the bus and the HTTP server
   * are closed. main.ts bounds the whole with SHUTDOWN_TIMEOUT_MS.
   */
  shutdown(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private logReadiness(): void {
    if (!this.server.listening && !this.shuttingDown) return;
    const now = this.readiness();
    if (now.ready === this.lastReady?.ready && (now.ready || this.lastReady.reason === now.reason)) return;
    // Not-ready before the first ready is the normal start-up, not news.
    if (!now.ready && this.lastReady === undefined) return;
    this.lastReady = now;
    if (now.ready) this.log.info('gateway ready');
    else this.log.warn({ reason: now.reason }, 'gateway not ready');
  }

  private async stop(): Promise<void> {
    this.shuttingDown = true;
    this.logReadiness();
    this.log.info({ clients: this.sockets.size, drainDelayMs: this.config.drainDelayMs }, 'draining');
    if (this.sockets.size > 0) await delay(this.config.drainDelayMs);
    this.metrics.closed('drain', this.sockets.size);
    await this.sockets.closeAll(CloseCode.SERVICE_RESTART, 'server restarting, reconnect');
    await this.hub.drain();
    this.load.stop();
    await this.sessions.close();
    await this.link.close();
    await this.bus.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info('shut down');
  }
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { CloseCode } from '@switchboard/protocol';
import type { Bus, BusHealth } from './bus/bus.js';
import { clientLimits, type Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { createHttpServer } from './http/server.js';
import { Hub } from './hub/hub.js';
import type { Logger } from './logger.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import { SocketServer } from './ws/socket-server.js';

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

  constructor(
    private readonly config: Config,
    private readonly bus: Bus,
    private readonly sessions: SessionRegistry,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'gateway' });
    this.hub = new Hub(
      bus,
      sessions,
      { nodeId: config.nodeId, resumeGraceMs: config.resumeGraceMs, resumeMaxEvents: config.resumeMaxEvents, clientLimits: clientLimits(config) },
      logger,
    );
    const readiness = () => this.readiness();
    this.sockets = new SocketServer(this.hub, config, readiness, logger);
    this.server = createHttpServer(createHttpApp({ publicDir: config.publicDir, readiness, logger }), config);
    this.sockets.attach(this.server);
  }

  /** Ready for new clients: the bus and the session store are up and the node is not shutting down. */
  readiness(): BusHealth {
    if (this.shuttingDown) return { ready: false, reason: 'shutting down' };
    const bus = this.bus.health();
    if (!bus.ready) return bus;
    if (!this.sessions.ready()) return { ready: false, reason: 'session store unavailable' };
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
    this.log.info({ port: address.port, host: address.address }, `listening on http://${address.address}:${address.port}`);
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
    await this.sockets.closeAll(CloseCode.SERVICE_RESTART, 'server restarting, reconnect');
    await this.hub.drain();
    await this.sessions.close();
    await this.bus.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info('shut down');
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '@switchboard/protocol';
import type { Bus, BusHealth } from './bus/bus.js';
import type { Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { Hub } from './hub/hub.js';
import type { Logger } from './logger.js';
import { SocketServer } from './ws/socket-server.js';

/**
 * One gateway node: HTTP, WebSocket and the hub around whichever Bus it is given.
 * main.ts decides the bus; this class never knows which one it has.
 */
export class Gateway {
  private readonly hub: Hub;
  private readonly sockets: SocketServer;
  private readonly server: Server;
  private readonly log: Logger;
  private shuttingDown = false;

  constructor(
    private readonly config: Config,
    private readonly bus: Bus,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'gateway' });
    this.hub = new Hub(bus, config.nodeId, logger);
    const readiness = () => this.readiness();
    this.sockets = new SocketServer(this.hub, config, readiness, logger);
    this.server = createServer(createHttpApp({ publicDir: config.publicDir, readiness, logger }));
    this.sockets.attach(this.server);
  }

  /** Ready for new clients: the bus is up and the node is not shutting down. */
  readiness(): BusHealth {
    if (this.shuttingDown) return { ready: false, reason: 'shutting down' };
    return this.bus.health();
  }

  /** Start the bus and listen. Resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    this.hub.start();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Graceful stop: not ready at once, every client closed with 1001 (the cluster
   * hears each disconnect), pending publishes flushed, then the bus and the HTTP
   * server closed. main.ts bounds the whole with SHUTDOWN_TIMEOUT_MS.
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.log.info({ clients: this.sockets.size }, 'shutting down');
    await this.sockets.closeAll(CloseCode.GOING_AWAY, 'server shutting down');
    await this.hub.drain();
    await this.bus.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info('shut down');
  }
}

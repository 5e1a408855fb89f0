import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface TcpProxyOptions {
  /** The port to listen on (127.0.0.1); a free one by default. */
  readonly port?: number;
  /** Forwarding latency from the start, in ms (see delay()); 0 by default. */
  readonly delayMs?: number;
}

/** One chunk on its way, and when it may go. */
interface Held {
  readonly data: Buffer;
  readonly due: number;
}

/** One direction of a proxied connection: what it holds, and where it goes. */
interface Pipe {
  readonly connection: Connection;
  readonly to: Socket;
  readonly held: Held[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One proxied connection. */
interface Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: Pipe[];
  /** The first bytes the client sent (up to HEAD_BYTES), for delay(ms, which). */
  head: string;
}

/** How much of what a client sends first is kept to tell its connections apart. */
const HEAD_BYTES = 4096;

/** Which connections a delay applies to, by the first bytes their client sent. */
export type ConnectionFilter = (head: string) => boolean;

/** A Redis replica's replication link (its handshake sends REPLCONF): for delay(ms, REPLICATION_LINK). */
export const REPLICATION_LINK: ConnectionFilter = (head) => /REPLCONF/i.test(head);

/** The Redis connection a client named `name` (CLIENT SETNAME, as ioredis's `connectionName` sends first): for freeze(redisConnectionNamed(...)). */
export const redisConnectionNamed =
  (name: string): ConnectionFilter =>
  (head) =>
    head.includes(`$${name.length}\r\n${name}\r\n`);

/**
 * A loopback TCP proxy in front of `127.0.0.1:<targetPort>`, for a test to hurt
 * a link: freeze() holds everything in both directions (the connections stay
 * open: a partition; or only some of them), thaw() lets it go in order, delay(ms) makes every chunk
 * wait that long (a lagging link), cut() closes every connection. When either
 * end of a connection closes, the other is destroyed at once and whatever the
 * proxy still held for it is dropped: as if it had been lost on the way.
 */
export class TcpProxy {
  private readonly connections = new Set<Connection>();
  /** Which connections are frozen (none: undefined). */
  private frozen: ConnectionFilter | undefined;
  private delayMs: number;
  private delayed: ConnectionFilter = () => true;
  /** Connections accepted since start. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
    options: TcpProxyOptions,
  ) {
    this.delayMs = options.delayMs ?? 0;
  }

  static async start(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const server = createServer();
    server.listen(options.port ?? 0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const proxy = new TcpProxy(server, port, targetPort, options);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** `127.0.0.1:<port>`: where to connect instead of the target. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections open now. */
  get open(): number {
    return this.connections.size;
  }

  /** Bytes held (frozen or delayed) in both directions of every connection. */
  get heldBytes(): number {
    let bytes = 0;
    for (const c of this.connections) for (const p of c.pipes) for (const h of p.held) bytes += h.data.length;
    return bytes;
  }

  /**
   * Stop forwarding: everything is held, in order, until thaw(); with `which`,
   * only on the connections whose client's first bytes it accepts (e.g.
   * redisConnectionNamed('node-b:pub')), the others going on as before.
   */
  freeze(which: ConnectionFilter = () => true): void {
    this.frozen = which;
    for (const c of this.connections) for (const p of c.pipes) if (which(c.head)) clearTimeout(p.timer);
  }

  /** Forward again, what was held first. */
  thaw(): void {
    this.frozen = undefined;
    for (const c of this.connections) for (const p of c.pipes) this.flush(p);
  }

  /**
   * Every chunk waits `ms` before it is forwarded (0: at once), in both
   * directions; with `which`, only on the connections whose client's first bytes
   * it accepts (e.g. REPLICATION_LINK), from the chunk after it does.
   */
  delay(ms: number, which: ConnectionFilter = () => true): void {
    this.delayMs = ms;
    this.delayed = which;
  }

  /**
   * Close every connection at once, both ends; what was held is dropped. New
   * connections are still accepted. (A socket is destroyed, not reset: Node
   * 20's resetAndDestroy() left its TCP handle open and spinning once the peer
   * was gone, and a process that never exits.)
   */
  cut(): void {
    for (const c of [...this.connections]) this.drop(c);
  }

  /** Cut every connection and stop listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    const connection: Connection = { client, upstream, pipes: [], head: '' };
    const toUpstream: Pipe = { connection, to: upstream, held: [], timer: undefined };
    const toClient: Pipe = { connection, to: client, held: [], timer: undefined };
    connection.pipes.push(toUpstream, toClient);
    this.connections.add(connection);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (data: Buffer) => {
      if (connection.head.length < HEAD_BYTES) connection.head += data.toString('latin1', 0, HEAD_BYTES);
      this.hold(connection, toUpstream, data);
    });
    upstream.on('data', (data: Buffer) => this.hold(connection, toClient, data));
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.drop(connection));
      socket.on('close', () => this.drop(connection));
    }
  }

  private hold(connection: Connection, pipe: Pipe, data: Buffer): void {
    const ms = this.delayMs > 0 && this.delayed(connection.head) ? this.delayMs : 0;
    pipe.held.push({ data, due: Date.now() + ms });
    this.flush(pipe);
  }

  /** Forward what is due, in order; come back for the rest when it is. */
  private flush(pipe: Pipe): void {
    clearTimeout(pipe.timer);
    pipe.timer = undefined;
    if (this.frozen?.(pipe.connection.head) || pipe.to.destroyed) return;
    const now = Date.now();
    while (pipe.held.length > 0 && pipe.held[0]!.due <= now) pipe.to.write(pipe.held.shift()!.data);
    const next = pipe.held[0];
    if (next) pipe.timer = setTimeout(() => this.flush(pipe), next.due - now);
  }

  private drop(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    for (const p of connection.pipes) {
      clearTimeout(p.timer);
      p.held.length = 0;
    }
    connection.client.destroy();
    connection.upstream.destroy();
  }
}

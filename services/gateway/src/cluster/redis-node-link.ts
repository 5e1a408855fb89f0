import { nanoid } from 'nanoid';
import type { NodeId } from '@switchboard/protocol';
import type { CloseRequestHandler, DisconnectReport, DisconnectUserHandler, NodeLink } from './node-link.js';
import type { Logger } from '../logger.js';
import { createRedis, type RedisClient, type RedisTarget } from '../redis/client.js';
import { RedisKeys } from '../redis/keys.js';

/** How long a node waits for another to confirm a request, in ms; past it, it goes on without the answer. */
const REQUEST_TIMEOUT_MS = 2_000;

type LinkMessage =
  | { readonly t: 'close'; readonly id: string; readonly from: NodeId; readonly conn: string }
  | { readonly t: 'closed'; readonly id: string }
  | { readonly t: 'disconnect'; readonly id: string; readonly from: NodeId; readonly user: string }
  | { readonly t: 'disconnected'; readonly id: string; readonly connections: number };

export interface RedisNodeLinkOptions {
  readonly target: RedisTarget;
  readonly prefix: string;
  readonly nodeId: NodeId;
  readonly logger: Logger;
}

/**
 * Requests between nodes over Redis pub/sub: every node listens on its own
 * channel (`<p>:node:<id>`) and answers there on the asker's. A request to this
 * node itself is answered without a round trip. A request to every node (a
 * user's disconnect) goes on the channel all of them listen on (`<p>:all-nodes`),
 * this node included, and each answers on the asker's channel.
 */
export class RedisNodeLink implements NodeLink {
  private readonly keys: RedisKeys;
  private readonly pub: RedisClient;
  private readonly sub: RedisClient;
  private readonly log: Logger;
  private readonly waiting = new Map<string, (answered: boolean) => void>();
  private onClose: CloseRequestHandler = () => false;
  private onDisconnectUser: DisconnectUserHandler = () => 0;
  /** Cluster-wide disconnects under way: the answers counted so far. */
  private readonly gathering = new Map<string, (connections: number) => void>();

  constructor(private readonly options: RedisNodeLinkOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.log = options.logger.child({ module: 'node-link' });
    this.pub = createRedis(options.target, `${options.nodeId}:link`, this.log);
    this.sub = createRedis(options.target, `${options.nodeId}:link-sub`, this.log);
  }

  start(onClose: CloseRequestHandler, onDisconnectUser: DisconnectUserHandler = () => 0): void {
    this.onClose = onClose;
    this.onDisconnectUser = onDisconnectUser;
    this.sub.on('message', (_channel: string, payload: string) => this.onMessage(payload));
    // ioredis subscribes again by itself after a reconnect (autoResubscribe).
    this.sub
      .connect()
      .then(
        () => this.sub.subscribe(this.keys.nodeChannel(this.options.nodeId), this.keys.allNodesChannel),
        () => undefined,
      )
      .catch((err: Error) => this.log.warn({ err: err.message }, 'node link not subscribed'));
    this.pub.connect().catch(() => undefined);
  }

  async closeConnection(node: NodeId, conn: string): Promise<boolean> {
    if (node === this.options.nodeId) {
      this.onClose(conn);
      return true;
    }
    const id = nanoid(12);
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(false);
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, (ok) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(ok);
      });
    });
    try {
      const listeners = await this.send(node, { t: 'close', id, from: this.options.nodeId, conn });
      // Nobody listens on that node's channel: it is gone (killed), and its connections with it.
      if (listeners === 0) this.waiting.get(id)?.(false);
    } catch (err) {
      this.waiting.get(id)?.(false);
      this.log.warn({ node, err: (err as Error).message }, 'could not ask a node to close a connection');
    }
    return answered;
  }

  async disconnectUser(user: string): Promise<DisconnectReport> {
    const id = nanoid(12);
    let nodes = 0;
    let connections = 0;
    let expected = Infinity;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, REQUEST_TIMEOUT_MS);
      timer.unref();
      finish = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    // Answers may come before PUBLISH returns how many listen: count from the start.
    this.gathering.set(id, (closed) => {
      nodes++;
      connections += closed;
      if (nodes >= expected) finish();
    });
    try {
      const message = JSON.stringify({ t: 'disconnect', id, from: this.options.nodeId, user });
      const listening = await this.pub.publish(this.keys.allNodesChannel, message);
      // On a Redis Cluster, PUBLISH counts the listeners of one shard only: every answer that comes in time is counted.
      expected = 'clusterNodes' in this.options.target ? Infinity : listening;
      if (nodes >= expected) finish();
      await done;
    } finally {
      this.gathering.delete(id);
    }
    if (nodes < expected && expected !== Infinity)
      this.log.warn({ answered: nodes, listening: expected }, 'not every node answered a disconnect in time');
    return { nodes, connections };
  }

  async close(): Promise<void> {
    for (const settle of [...this.waiting.values()]) settle(false);
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  /** Publish to a node's channel; resolves with how many listened (0: the node is not there). */
  private send(node: NodeId, message: LinkMessage): Promise<number> {
    return this.pub.publish(this.keys.nodeChannel(node), JSON.stringify(message));
  }

  private onMessage(payload: string): void {
    let message: LinkMessage;
    try {
      message = JSON.parse(payload) as LinkMessage;
    } catch {
      this.log.warn({ bytes: payload.length }, 'dropped malformed node-link message');
      return;
    }
    if (message.t === 'closed') {
      this.waiting.get(message.id)?.(true);
      return;
    }
    if (message.t === 'disconnected') {
      this.gathering.get(message.id)?.(typeof message.connections === 'number' ? message.connections : 0);
      return;
    }
    if (message.t === 'disconnect') {
      if (typeof message.user !== 'string') return;
      const connections = this.onDisconnectUser(message.user);
      // Not the user's id: it is the application's, and logs are not the place for it.
      this.log.info({ by: message.from, connections }, 'closed the connections of a user the backend disconnected');
      this.send(message.from, { t: 'disconnected', id: message.id, connections }).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'could not confirm a disconnect'),
      );
      return;
    }
    if (typeof message.conn === 'string') {
      const held = this.onClose(message.conn);
      this.log.info({ conn: message.conn, by: message.from, held }, 'closed a connection whose session was resumed elsewhere');
      this.send(message.from, { t: 'closed', id: message.id }).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'could not confirm a closed connection'),
      );
    }
  }
}

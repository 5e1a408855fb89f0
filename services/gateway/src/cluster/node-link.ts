import type { NodeId } from '@switchboard/protocol';

/** What a node does when another asks: close one of its connections (its session was resumed elsewhere). Returns whether it held it. */
export type CloseRequestHandler = (conn: string) => boolean;

/** What a node does when any node asks: close every connection of `user` (`POST /api/disconnect`). Returns how many it closed. */
export type DisconnectUserHandler = (user: string) => number;

/** What a cluster-wide disconnect reached: the nodes that answered, and the connections they closed. */
export interface DisconnectReport {
  readonly nodes: number;
  readonly connections: number;
}

/**
 * Requests from one gateway node to others: "close your connection `conn`, its
 * session was resumed here", so that a session never has two holders; and, to
 * every node, "close every connection of this user". Implementations:
 * LocalNodeLink (one node), RedisNodeLink (a cluster).
 */
export interface NodeLink {
  /** Start answering other nodes' requests. */
  start(onClose: CloseRequestHandler, onDisconnectUser?: DisconnectUserHandler): void;
  /**
   * Ask `node` to close its connection `conn`. Resolves true once that node
   * confirmed it closed it (or did not have it), false when it did not answer
   * within the link's timeout (it may be dead or stalled: the session has moved
   * anyway, and its old connection can no longer end it).
   */
  closeConnection(node: NodeId, conn: string): Promise<boolean>;
  /**
   * Ask every node, this one included, to close every connection of `user`.
   * Resolves once every node listening answered, or the link's timeout passed
   * (then with the answers that came; on a Redis Cluster, where the listeners
   * cannot be counted, always after the timeout).
   */
  disconnectUser(user: string): Promise<DisconnectReport>;
  close(): Promise<void>;
}

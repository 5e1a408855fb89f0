import type { NodeId } from '@switchboard/protocol';

/** What a node does when another asks: close one of its connections (its session was resumed elsewhere). Returns whether it held it. */
export type CloseRequestHandler = (conn: string) => boolean;

/**
 * Requests from one gateway node to another. Today one: "close your connection
 * `conn`, its session was resumed here", so that a session never has two
 * holders. Implementations: LocalNodeLink (one node), RedisNodeLink (a cluster).
 */
export interface NodeLink {
  /** Start answering other nodes' requests. */
  start(onClose: CloseRequestHandler): void;
  /**
   * Ask `node` to close its connection `conn`. Resolves true once that node
   * confirmed it closed it (or did not have it), false when it did not answer
   * within the link's timeout (it may be dead or stalled: the session has moved
   * anyway, and its old connection can no longer end it).
   */
  closeConnection(node: NodeId, conn: string): Promise<boolean>;
  close(): Promise<void>;
}

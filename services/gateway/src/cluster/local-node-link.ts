import type { NodeId } from '@switchboard/protocol';
import type { CloseRequestHandler, DisconnectReport, DisconnectUserHandler, NodeLink } from './node-link.js';

/** The link of a node that is alone: every session is held here, so every request is answered locally. */
export class LocalNodeLink implements NodeLink {
  private onClose: CloseRequestHandler = () => false;

  constructor(private readonly nodeId: NodeId) {}

  private onDisconnectUser: DisconnectUserHandler = () => 0;

  start(onClose: CloseRequestHandler, onDisconnectUser: DisconnectUserHandler = () => 0): void {
    this.onClose = onClose;
    this.onDisconnectUser = onDisconnectUser;
  }

  disconnectUser(user: string): Promise<DisconnectReport> {
    return Promise.resolve({ nodes: 1, connections: this.onDisconnectUser(user) });
  }

  closeConnection(node: NodeId, conn: string): Promise<boolean> {
    if (node === this.nodeId) this.onClose(conn);
    return Promise.resolve(node === this.nodeId);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

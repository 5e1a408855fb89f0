import type { NodeId } from '@switchboard/protocol';
import type { CloseRequestHandler, NodeLink } from './node-link.js';

/** The link of a node that is alone: every session is held here, so every request is answered locally. */
export class LocalNodeLink implements NodeLink {
  private onClose: CloseRequestHandler = () => false;

  constructor(private readonly nodeId: NodeId) {}

  start(onClose: CloseRequestHandler): void {
    this.onClose = onClose;
  }

  closeConnection(node: NodeId, conn: string): Promise<boolean> {
    if (node === this.nodeId) this.onClose(conn);
    return Promise.resolve(node === this.nodeId);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

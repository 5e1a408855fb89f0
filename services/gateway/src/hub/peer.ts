import type { ClientId, Nickname } from '@switchboard/protocol';
import type { Logger } from '../logger.js';

/**
 * A local client as the hub sees it: an identity and a way to hand it frames.
 * The WebSocket Connection implements it; the hub never touches a socket.
 */
export interface Peer {
  readonly id: ClientId;
  nickname: Nickname;
  /** A child logger carrying this peer's `conn` id. */
  readonly log: Logger;
  /** Queue one already-encoded text frame (UTF-8 JSON). Never throws; a peer past its budget closes itself. */
  sendEncoded(frame: Buffer): void;
}

export interface Identity {
  readonly id: ClientId;
  readonly nickname: Nickname;
}

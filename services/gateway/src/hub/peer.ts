import type { ClientId, Nickname } from '@switchboard/protocol';
import type { Logger } from '../logger.js';

/** Which protocol a connection speaks: the seed's text frames, or v2 JSON frames (subprotocol `switchboard.v2`). */
export type ProtocolVersion = 'v1' | 'v2';

/**
 * A local client as the hub sees it: an identity and a way to hand it frames.
 * The WebSocket Connection implements it; the hub never touches a socket.
 */
export interface Peer {
  /** This connection's own id (a resumed session gets a new connection, same client id). */
  readonly conn: string;
  readonly protocol: ProtocolVersion;
  /** The client id; set by the hub on admission. */
  id: ClientId;
  nickname: Nickname;
  /** A child logger carrying this peer's `conn` id. */
  readonly log: Logger;
  /** Queue one already-encoded text frame (UTF-8 JSON). Never throws; a peer past its budget closes itself. */
  sendEncoded(frame: Buffer): void;
  /** Close the connection with a code (the peer's leave follows when it has closed). */
  close(code: number, reason: string): void;
}

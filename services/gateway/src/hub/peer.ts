import { encodeServerFrame, type ClientId, type Nickname, type ServerFrame } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import type { UserToken } from '../auth/token-verifier.js';

/**
 * One server frame, encoded once per node: its JSON text, its UTF-8 bytes, and a
 * slot where the transport keeps its wire form (a WebSocket frame, built at most
 * once), so that an event fanned out to every local peer costs one encoding and
 * one framing, whatever the number of peers.
 */
export class Outgoing {
  /** The UTF-8 bytes of `text`. */
  readonly payload: Buffer;
  /** The transport's cache of this frame's wire bytes (see ws/text-frame.ts). */
  wire: Buffer | undefined;

  constructor(readonly text: string) {
    this.payload = Buffer.from(text);
  }
}

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
  /** The client's address, as the per-address limits count it (absent: the peer is not counted by address). */
  readonly address?: string;
  /** Identity on: the user its token names (its `sub`, locked name, rooms); undefined with identity off. `POST /api/disconnect` closes all of a `sub`'s. */
  readonly user?: UserToken;
  /** A logger carrying this peer's `conn` id (a connection makes it when asked: read it only to log). */
  readonly log: Logger;
  /**
   * Queue one encoded server frame. Never throws; a peer past its budget closes
   * itself. The same Outgoing may be handed to many peers: it is encoded once.
   */
  send(out: Outgoing): void;
  /** Close the connection with a code (the peer's leave follows when it has closed). */
  close(code: number, reason: string): void;
}

/** Send one frame to one peer (frames for a single client: welcome, error, ack). */
export function sendFrame(peer: Peer, frame: ServerFrame): void {
  peer.send(new Outgoing(encodeServerFrame(frame)));
}

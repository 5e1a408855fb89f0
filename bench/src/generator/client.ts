/**
 * One simulated user, whatever the system: the generator connects it, sends
 * lines through it and is told what arrives. Each system's client library sits
 * behind this interface (ws-client.ts, socketio-client.ts, ws-text-client.ts).
 */
import type { ClientKind } from '../systems/system.js';
import { connectSocketIo } from './socketio-client.js';
import { connectWs } from './ws-client.js';
import { connectWsText } from './ws-text-client.js';

export interface ClientHandlers {
  /** A chat line arrived; it starts at `at` in `text` (a string, or the frame's bytes: frames are not copied). */
  line(text: string | Buffer, at: number): void;
  /** Any other event: a notice, a rename. */
  other(): void;
  /** An error frame (Switchboard refusing a line: RATE_LIMITED, BUS_UNAVAILABLE...). */
  error(): void;
  /** The server ended the connection (a close code, or socket.io's reason). */
  closed(why: string): void;
}

export interface LoadClient {
  readonly open: boolean;
  send(text: string): void;
  /** Drop the connection at once, without telling the handlers. */
  terminate(): void;
}

/**
 * Connect and resolve once the server has welcomed the client (welcome frame,
 * socket.io's connect, or the WebSocket open for raw text) and, given a `room`,
 * once it is in that room (Switchboard's /join, or Socket.IO's acknowledged
 * "join"; the raw-text clients have no rooms).
 */
export function connectClient(
  kind: ClientKind,
  url: string,
  handlers: ClientHandlers,
  timeoutMs: number,
  room?: string,
): Promise<LoadClient> {
  switch (kind) {
    case 'socket.io':
      return connectSocketIo(url, handlers, timeoutMs, room);
    case 'ws-text':
      if (room !== undefined) return Promise.reject(new Error('the raw-text clients of the bench join no rooms'));
      return connectWsText(url, handlers, timeoutMs);
    case 'ws-json':
      return connectWs(url, handlers, timeoutMs, room);
  }
}

/**
 * A handler that each WebSocket implementation may type with its own, richer event
 * (the browser's MessageEvent, `ws`'s): declared as a method so its parameter is
 * checked both ways, and both implementations fit. The client reads only the
 * fields named here.
 */
type EventHandler<E> = { handle(event: E): void }['handle'];

/**
 * The WebSocket the client drives: the browser's own, or `ws` in Node (Node 20
 * has no global WebSocket). Only what the client uses is listed, so both fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: EventHandler<unknown> | null;
  onmessage: EventHandler<{ readonly data: unknown }> | null;
  onclose: EventHandler<{ readonly code: number; readonly reason: string }> | null;
  onerror: EventHandler<unknown> | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** readyState values, the same in every implementation. */
export const SocketState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** The implementation given, else the host's global one; throws when there is none. */
export function resolveWebSocket(given: WebSocketConstructor | undefined): WebSocketConstructor {
  const found = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (found === undefined) {
    throw new TypeError('no WebSocket implementation: pass options.WebSocket (in Node 20: import { WebSocket } from "ws")');
  }
  return found;
}

/** Stop listening to a socket we are leaving; errors it still reports are ignored. */
export function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // Not null: `ws` throws an 'error' event that nobody listens to.
  socket.onerror = () => undefined;
}

import type { WebSocketConstructor, WebSocketLike } from '../src/index.js';

/**
 * A WebSocket the test drives by hand: it records what the client sends and
 * lets the test open, answer and close it. No network, no timers of its own.
 */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  protocol = '';
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  /** The server accepted: open, then the welcome frame. */
  accept(id = 'id-1', nickname = 'AnonymousUser1', node = 'gw-1'): void {
    this.open();
    this.frame({ type: 'welcome', id, nickname, node, message: `Welcome, ${nickname}!` });
  }

  /** The handshake finished, with the subprotocol the server chose. */
  open(protocol = ''): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.onopen?.({});
  }

  /** What the client sent, each frame parsed as JSON (protocol v2). */
  get sentJson(): Array<Record<string, unknown>> {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }

  frame(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Several frames in one text frame, one JSON object per line (a protocol v2 batch). */
  batch(frames: readonly object[]): void {
    this.onmessage?.({ data: frames.map((f) => JSON.stringify(f)).join('\n') });
  }

  raw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The connection ended (server close, network loss, refused handshake). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }

  /** Finish a close the client started, as a real socket would. */
  finishClose(): void {
    this.readyState = 3;
    this.onclose?.({ code: this.closedWith?.code ?? 1005, reason: this.closedWith?.reason ?? '' });
  }
}

/** A WebSocket constructor whose instances the test can reach, in order. */
export function fakeWebSocket(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Impl extends FakeSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { WebSocket: Impl, sockets };
}

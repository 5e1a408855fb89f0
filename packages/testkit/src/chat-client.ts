import { WebSocket, type ClientOptions } from 'ws';
import {
  SUBPROTOCOL_V2,
  isBroadcastEvent,
  parseServerFrame,
  parseServerFrames,
  type BroadcastEvent,
  type HelloFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '@switchboard/protocol';
import { EventLog } from './event-log.js';

export interface ChatClientOptions extends ClientOptions {
  /** WebSocket subprotocols to offer. */
  readonly protocols?: string | string[];
  /** How long connect() waits for the welcome frame, in ms. */
  readonly timeoutMs?: number;
  /** Speak protocol v2: offer `switchboard.v2` and send this hello first. */
  readonly hello?: Omit<HelloFrame, 'type'>;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** Default wait for one expected frame, in ms: generous, for a loaded 2-core machine. */
export const FRAME_TIMEOUT_MS = 10_000;

/**
 * A seed-protocol chat client for tests: it records every frame and lets a test
 * wait for the one it expects.
 */
export class ChatClient {
  readonly frames = new EventLog<ServerFrame>();
  readonly closed: Promise<CloseInfo>;
  welcome!: WelcomeFrame;

  private constructor(
    readonly socket: WebSocket,
    /** Protocol v2 may batch several frames in one (one per line); the seed protocol never does. */
    batches: boolean,
  ) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = (data as Buffer).toString();
      if (batches) for (const frame of parseServerFrames(text)) this.frames.push(frame);
      else this.frames.push(parseServerFrame(text));
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        this.frames.end();
        resolve({ code, reason: reason.toString() });
      });
    });
    socket.on('error', () => undefined);
  }

  /** Connect and wait for the welcome frame, which must come first. */
  static async connect(url: string, options: ChatClientOptions = {}): Promise<ChatClient> {
    const { protocols, timeoutMs = FRAME_TIMEOUT_MS, hello, ...wsOptions } = options;
    const client = new ChatClient(new WebSocket(url, hello ? SUBPROTOCOL_V2 : protocols, wsOptions), hello !== undefined);
    if (hello) client.socket.once('open', () => client.sendJson({ type: 'hello', ...hello }));
    const first = await Promise.race([
      client.frames.waitFor(() => true, timeoutMs, `a welcome from ${url}`),
      new Promise<never>((_, reject) => client.socket.once('error', reject)),
    ]);
    if (first.type !== 'welcome') throw new Error(`first frame was ${first.type}, not welcome`);
    client.welcome = first;
    return client;
  }

  get id(): string {
    return this.welcome.id;
  }

  get node(): string {
    return this.welcome.node;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** Send one JSON frame (protocol v2). */
  sendJson(frame: object): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Every broadcast event received so far, in arrival order. */
  get events(): BroadcastEvent[] {
    return this.frames.items.filter(isBroadcastEvent);
  }

  sendBinary(data: Buffer): void {
    this.socket.send(data, { binary: true });
  }

  /** The first frame matching, past or future. */
  waitFor(match: (frame: ServerFrame) => boolean, what: string, timeoutMs = FRAME_TIMEOUT_MS): Promise<ServerFrame> {
    return this.frames.waitFor(match, timeoutMs, what);
  }

  /** Wait for a frame of `type` whose `message` equals `message`. */
  async waitForMessage(type: BroadcastEvent['type'], message: string, timeoutMs = FRAME_TIMEOUT_MS): Promise<BroadcastEvent> {
    const frame = await this.waitFor((f) => f.type === type && f.message === message, `${type} "${message}"`, timeoutMs);
    return frame as BroadcastEvent;
  }

  /**
   * Send a unique marker line and wait for its echo. Broadcasts arrive in one
   * order, so every event published before the marker has reached this client
   * by then: a test can assert that something did NOT happen without sleeping.
   */
  async barrier(label = 'barrier'): Promise<void> {
    const text = `${label} ${Math.random()}`;
    this.send(text);
    await this.waitForMessage('message', text);
  }

  /** Close politely and wait until closed. */
  async close(code = 1000): Promise<CloseInfo> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code);
    }
    return this.closed;
  }

  /** Send raw bytes as a text frame, unchecked: how a broken client sends invalid UTF-8. */
  sendRawText(data: Buffer): void {
    this.socket.send(data, { binary: false });
  }

  /** End the TCP connection with no close frame (FIN): as if the client process died. */
  drop(): void {
    this.socket.terminate();
  }

  /** Reset the TCP connection (RST), no close frame: as if the network failed. */
  reset(): void {
    const raw = (this.socket as unknown as { _socket?: { resetAndDestroy?: () => void } })._socket;
    if (raw?.resetAndDestroy) raw.resetAndDestroy();
    else this.socket.terminate();
  }

  /** Stop reading from the network (a stalled consumer); the server's buffer for it fills up. */
  stallReading(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }
}

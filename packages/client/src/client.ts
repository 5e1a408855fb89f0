import {
  ErrorCode,
  MAX_MESSAGE_BYTES,
  TERMINAL_CLOSE_CODES,
  parseClientText,
  validateNickname,
  type ClientId,
  type Nickname,
  type NodeId,
  type ServerFrame,
  type WelcomeFrame,
} from '@switchboard/protocol';
import { backoffDelay, resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
import { pickDialect, seedDialect, type Dialect } from './dialect.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError } from './errors.js';
import { SocketState, detach, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './socket.js';

/**
 * - `idle`: made, connect() not called yet;
 * - `connecting`: the first connection is being made;
 * - `open`: connected and welcomed: send() works;
 * - `reconnecting`: the connection was lost; waiting to retry, or retrying;
 * - `closed`: closed by close(), by a policy close (1000, 1003, 1007, 1008, 1009), or out of attempts. Final.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  readonly previous: ConnectionState;
  /** With `reconnecting`: which retry is next (1 for the first). */
  readonly attempt?: number;
  /** With `reconnecting`: how long until that retry, in ms. */
  readonly delayMs?: number;
}

/** A connection ended. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** Whether the client will try again on its own. */
  readonly willReconnect: boolean;
}

/** One event per server frame type, named after it, carrying that frame. */
export type FrameEvents = { [F in ServerFrame as F['type']]: F };

export type ClientEvents = FrameEvents & {
  /** Every frame, whatever its type, before its own event. */
  frame: ServerFrame;
  /** Every state change, and every new reconnect attempt. */
  state: StateChange;
  /** Every connection that ends, deliberate or not. */
  close: CloseInfo;
  /** A text frame the client could not read (e.g. from a newer protocol); it is otherwise ignored. */
  unknown: string;
};

export interface ClientOptions {
  /** The gateway's WebSocket URL, e.g. `ws://localhost:8080/ws`. */
  readonly url: string;
  /** The WebSocket implementation; default the global one (browsers). In Node 20 pass `ws`'s. */
  readonly WebSocket?: WebSocketConstructor;
  /** A nickname to take after every welcome (the client renames itself on each reconnect). */
  readonly nickname?: string;
  /** Retry timing, or false to never reconnect. Defaults in DEFAULT_RECONNECT. */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  /** How long one attempt may take until the welcome frame, in ms. Default 10000; then it counts as failed. */
  readonly connectTimeoutMs?: number;
  /** Largest frame the client will send, in bytes; larger input throws MESSAGE_TOO_BIG. Default 512, the gateway's. */
  readonly maxMessageBytes?: number;
  /** Source of randomness for jitter, for tests. Default Math.random. */
  readonly random?: () => number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The close code the client uses for close() and for attempts it abandons. */
const NORMAL_CLOSE = 1000;

/**
 * A Switchboard connection that stays up: it reconnects with exponential backoff
 * and jitter after any close but a deliberate or policy one, takes its nickname
 * back after each reconnect, and emits one typed event per server frame.
 *
 * The transport (sockets, timers, states) lives here; how frames are written and
 * read is the Dialect's.
 */
export class SwitchboardClient {
  private readonly events = new Emitter<ClientEvents>();
  private readonly url: string;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly reconnect: ReconnectOptions | false;
  private readonly connectTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly random: () => number;
  private readonly dialects: readonly Dialect[] = [seedDialect];
  private readonly encoder = new TextEncoder();

  private current: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  private dialect: Dialect = seedDialect;
  /** Failed attempts since the last welcome. */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeFrame: WelcomeFrame | undefined;
  private ownNickname: Nickname | undefined;
  /** The name to hold: from options.nickname, setNick(), or the server's confirmation. */
  private wantedNickname: Nickname | undefined;

  constructor(options: ClientOptions) {
    this.url = checkUrl(options.url);
    this.WebSocketImpl = resolveWebSocket(options.WebSocket);
    this.reconnect = options.reconnect === false ? false : resolveReconnectOptions(options.reconnect);
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
    this.maxMessageBytes = positive(options.maxMessageBytes ?? MAX_MESSAGE_BYTES, 'maxMessageBytes');
    this.random = options.random ?? Math.random;
    if (options.nickname !== undefined) this.wantedNickname = checkNickname(options.nickname);
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** This connection's id, from the latest welcome. */
  get id(): ClientId | undefined {
    return this.welcomeFrame?.id;
  }

  /** The nickname the server knows this client by now. */
  get nickname(): Nickname | undefined {
    return this.ownNickname;
  }

  /** The gateway node serving this connection. */
  get node(): NodeId | undefined {
    return this.welcomeFrame?.node;
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.events.on(type, listener);
  }

  once<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.events.once(type, listener);
  }

  off<K extends keyof ClientEvents>(type: K, listener: Listener<ClientEvents[K]>): void {
    this.events.off(type, listener);
  }

  /** Start connecting (once); resolves with the first welcome, rejects if the client closes first. */
  connect(): Promise<WelcomeFrame> {
    if (this.current === 'idle') {
      this.setState({ state: 'connecting' });
      this.dial();
    }
    return this.whenOpen();
  }

  /** Resolves with the welcome once the client is open (at once if it is); rejects if it closes first. */
  whenOpen(): Promise<WelcomeFrame> {
    if (this.current === 'open' && this.welcomeFrame) return Promise.resolve(this.welcomeFrame);
    if (this.current === 'idle' || this.current === 'closed') {
      return Promise.reject(new ClientError('NOT_OPEN', `The client is ${this.current}.`));
    }
    return new Promise((resolve, reject) => {
      const offState = this.on('state', ({ state }) => {
        if (state === 'open' && this.welcomeFrame) {
          offState();
          resolve(this.welcomeFrame);
        } else if (state === 'closed') {
          offState();
          reject(new ClientError('NOT_OPEN', 'The client closed before it connected.'));
        }
      });
    });
  }

  /**
   * Send a chat line. Throws ClientError: NOT_OPEN unless the client is open (the
   * line is not kept), EMPTY_MESSAGE for a blank line, MESSAGE_TOO_BIG past maxMessageBytes.
   */
  send(text: string): void {
    if (text.trim().length === 0) throw new ClientError(ErrorCode.EMPTY_MESSAGE, 'Empty messages are not sent.');
    this.write(this.dialect.encodeMessage(text));
  }

  /**
   * Rename. The name is kept: after a reconnect the client takes it again. Throws
   * ClientError for a name the server would refuse, and NOT_OPEN when not open.
   */
  setNick(nickname: string): void {
    const name = checkNickname(nickname);
    this.write(this.dialect.encodeNick(name));
    this.wantedNickname = name;
  }

  /** What a person typed: `/nick NAME` renames, anything else is a chat line. */
  submit(line: string): void {
    const parsed = parseClientText(line);
    if (!parsed.ok) throw new ClientError(parsed.error.code, parsed.error.message);
    if (parsed.command.type === 'nick') this.setNick(parsed.command.nickname);
    else this.send(parsed.command.message);
  }

  /**
   * While reconnecting and waiting out a backoff delay, try now (e.g. when a
   * browser reports it is back online). Does nothing in any other state.
   */
  reconnectNow(): void {
    if (this.current !== 'reconnecting' || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dial();
  }

  /**
   * Close for good: no reconnect. Resolves once the socket has closed (lines sent
   * before it are flushed first), at once if there is none.
   */
  close(code = NORMAL_CLOSE, reason = ''): Promise<void> {
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    const wasClosed = this.current === 'closed';
    if (!wasClosed) this.setState({ state: 'closed' });
    if (socket === undefined || socket.readyState === SocketState.CLOSED) {
      if (!wasClosed && socket) this.events.emit('close', { code, reason, willReconnect: false });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      detach(socket);
      socket.onclose = (event: { code: number; reason: string }) => {
        this.events.emit('close', { code: event.code, reason: event.reason, willReconnect: false });
        resolve();
      };
      socket.close(code, reason);
    });
  }

  private write(frame: string): void {
    const socket = this.socket;
    if (this.current !== 'open' || socket === undefined || socket.readyState !== SocketState.OPEN) {
      throw new ClientError('NOT_OPEN', `Not connected (${this.current}); nothing was sent.`);
    }
    const bytes = this.encoder.encode(frame).length;
    if (bytes > this.maxMessageBytes) {
      throw new ClientError(
        'MESSAGE_TOO_BIG',
        `The message is ${bytes} bytes; the limit is ${this.maxMessageBytes}.`,
      );
    }
    socket.send(frame);
  }

  private dial(): void {
    const offered = this.dialects.map((d) => d.subprotocol).filter((p) => p !== '');
    let socket: WebSocketLike;
    try {
      socket = offered.length > 0 ? new this.WebSocketImpl(this.url, offered) : new this.WebSocketImpl(this.url);
    } catch (err) {
      this.lost({ code: 1006, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.dialect = pickDialect(this.dialects, socket.protocol);
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (typeof event.data === 'string') this.receive(event.data);
    };
    socket.onerror = () => undefined; // a close always follows
    socket.onclose = (event: { code: number; reason: string }) => {
      if (this.socket !== socket) return;
      this.lost({ code: event.code, reason: event.reason });
    };
    this.connectTimer = setTimeout(() => {
      if (this.socket !== socket || this.current === 'open') return;
      this.abandon(socket);
      this.lost({ code: 1006, reason: `no welcome within ${this.connectTimeoutMs} ms` });
    }, this.connectTimeoutMs);
  }

  private receive(text: string): void {
    const frame = this.dialect.decode(text);
    if (frame === undefined) {
      this.events.emit('unknown', text);
      return;
    }
    if (frame.type === 'welcome') this.welcomed(frame);
    if (frame.type === 'nick_update' && frame.id === this.id) {
      this.ownNickname = frame.nickname;
      this.wantedNickname = frame.nickname;
    }
    if (frame.type === 'error' && frame.code.startsWith('NICK_')) this.wantedNickname = this.ownNickname;
    this.events.emit('frame', frame);
    (this.events.emit as (type: string, value: ServerFrame) => void)(frame.type, frame);
    if (frame.type === 'welcome') this.restoreNickname();
  }

  private welcomed(frame: WelcomeFrame): void {
    clearTimeout(this.connectTimer);
    this.welcomeFrame = frame;
    this.ownNickname = frame.nickname;
    this.failures = 0;
    this.setState({ state: 'open' });
  }

  private restoreNickname(): void {
    const wanted = this.wantedNickname;
    if (wanted === undefined || wanted === this.ownNickname || this.current !== 'open') return;
    try {
      this.write(this.dialect.encodeNick(wanted));
    } catch {
      // Closed meanwhile: the next welcome tries again.
    }
  }

  /** The connection is gone without close(): retry, unless the close forbids it or attempts are spent. */
  private lost(close: { code: number; reason: string }): void {
    this.clearTimers();
    this.socket = undefined;
    const reconnect = this.reconnect;
    const retry = reconnect !== false && !TERMINAL_CLOSE_CODES.has(close.code) && this.failures < reconnect.maxAttempts;
    this.events.emit('close', { ...close, willReconnect: retry });
    if (!retry) {
      this.setState({ state: 'closed' });
      return;
    }
    const delayMs = backoffDelay(this.failures, reconnect, this.random);
    this.failures += 1;
    this.setState({ state: 'reconnecting', attempt: this.failures, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.dial();
    }, delayMs);
  }

  private abandon(socket: WebSocketLike): void {
    detach(socket);
    try {
      socket.close(NORMAL_CLOSE);
    } catch {
      // Some implementations throw on a socket that never opened; it is gone either way.
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    this.retryTimer = undefined;
    this.connectTimer = undefined;
  }

  private setState(change: Omit<StateChange, 'previous'>): void {
    const previous = this.current;
    this.current = change.state;
    this.events.emit('state', { ...change, previous });
  }
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url must be a ws:// or wss:// URL, got "${url}"`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`url must be a ws:// or wss:// URL, got "${url}"`);
  }
  return url;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  return value;
}

/** The server takes the first word after `/nick`; a name with spaces would be cut, so it is refused here. */
function checkNickname(nickname: string): string {
  const error = validateNickname(nickname);
  if (error) throw new ClientError(error.code, error.message);
  if (/\s/u.test(nickname)) throw new ClientError(ErrorCode.NICK_INVALID, 'Nicknames are one word, without spaces.');
  return nickname;
}

import { CloseCode, TERMINAL_CLOSE_CODES } from '@switchboard/protocol';
import { backoffDelay, type ReconnectOptions } from './backoff.js';
import { ClientError } from './client-error.js';
import { pickCodec, type ProtocolCodec } from './protocol-codec.js';
import { SocketState, detach, type WebSocketConstructor, type WebSocketLike } from './websocket-like.js';

/**
 * - `idle`: made, connect() not called yet;
 * - `connecting`: the first connection is being made;
 * - `open`: connected and welcomed;
 * - `reconnecting`: the connection was lost; waiting to retry, or retrying;
 * - `closed`: closed by close(), by a terminal close (TERMINAL_CLOSE_CODES: 1000, and closes a retry would
 *   only repeat, such as 1009 or 4003), or out of attempts. Final.
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

/** What the transport tells its owner. */
export interface TransportHandlers {
  /** A socket opened and speaks `codec`: the first frame to send on it, if any. */
  hello(codec: ProtocolCodec): string | undefined;
  /** A text frame arrived; `current()` turns false once this socket is no longer the client's. */
  message(text: string, current: () => boolean): void;
  /** Every state change, and every new reconnect attempt. */
  state(change: StateChange): void;
  /** A connection ended, deliberately or not. */
  closed(info: CloseInfo): void;
  /** The transport is closed for good: by close() (`lost` undefined) or after the connection `lost` could not be retried. */
  stopped(lost: { readonly code: number } | undefined): void;
}

export interface TransportOptions {
  readonly url: string;
  readonly WebSocket: WebSocketConstructor;
  /** The codecs offered, the preferred first. */
  readonly codecs: readonly ProtocolCodec[];
  readonly reconnect: ReconnectOptions | false;
  readonly connectTimeoutMs: number;
  readonly random: () => number;
  /** The URL of each attempt, asked before it (the token in its query); default `url` as is. A rejection fails the attempt. */
  readonly urlFor?: () => Promise<string>;
  /** Close codes, besides TERMINAL_CLOSE_CODES, after which there is no retry (4010 when no new token can be had). */
  readonly isTerminal?: (code: number) => boolean;
}

/** The close code for an attempt the client abandons: not 1000, so a v2 session it may hold survives. */
const ABANDON_CLOSE = 4000;

/**
 * The socket lifecycle and the reconnect state machine: dials, gives each attempt
 * `connectTimeoutMs` to be welcomed, and after any close but a deliberate or
 * terminal one retries with exponential backoff and jitter. It reads no frame:
 * its owner says when a connection is welcomed.
 */
export class Transport {
  private current: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  private currentCodec: ProtocolCodec;
  /** Failed attempts since the last welcome. */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: TransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.currentCodec = options.codecs[0]!;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The codec of the current (or latest) connection; before any, the preferred one. */
  get codec(): ProtocolCodec {
    return this.currentCodec;
  }

  /** Start connecting; only from `idle`. */
  start(): void {
    if (this.current !== 'idle') return;
    this.setState({ state: 'connecting' });
    this.dial();
  }

  /** The connection is welcomed: it is open, and the next loss starts the backoff over. */
  welcomed(): void {
    clearTimeout(this.connectTimer);
    this.failures = 0;
    this.setState({ state: 'open' });
  }

  /** Write one text frame; throws ClientError NOT_OPEN unless open. */
  write(frame: string): void {
    const socket = this.socket;
    if (this.current !== 'open' || socket === undefined || socket.readyState !== SocketState.OPEN) {
      throw new ClientError('NOT_OPEN', `Not connected (${this.current}); nothing was sent.`);
    }
    socket.send(frame);
  }

  /** While waiting out a backoff delay, try now. Does nothing in any other state. */
  reconnectNow(): void {
    if (this.current !== 'reconnecting' || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dial();
  }

  /**
   * The open connection is wedged (the server answers nothing: see ackReconnectMs):
   * close it with 4000, so a v2 session survives for its grace period, and
   * reconnect as after a lost connection. Does nothing unless open, nor when
   * reconnects are off (`reconnect: false`): the client then only resends.
   */
  recycle(reason: string): void {
    const socket = this.socket;
    if (this.current !== 'open' || socket === undefined || this.options.reconnect === false) return;
    abandon(socket);
    this.lost({ code: ABANDON_CLOSE, reason });
  }

  /** Close for good with `code`; resolves once the socket has closed, at once if there is none. */
  close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    this.clearTimers();
    this.attempts++;
    const socket = this.socket;
    this.socket = undefined;
    const wasClosed = this.current === 'closed';
    if (!wasClosed) this.setState({ state: 'closed' });
    this.handlers.stopped(undefined);
    if (socket === undefined || socket.readyState === SocketState.CLOSED) {
      if (!wasClosed && socket) this.handlers.closed({ code, reason, willReconnect: false });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      detach(socket);
      socket.onclose = (event) => {
        this.handlers.closed({ code: event.code, reason: event.reason, willReconnect: false });
        resolve();
      };
      socket.close(code, reason);
    });
  }

  /** Attempts started, so that a URL that comes after its attempt was given up is not dialed. */
  private attempts = 0;

  private dial(): void {
    const urlFor = this.options.urlFor;
    if (urlFor === undefined) {
      this.open(this.options.url);
      return;
    }
    const attempt = ++this.attempts;
    const still = () => attempt === this.attempts && (this.current === 'connecting' || this.current === 'reconnecting');
    urlFor().then(
      (url) => {
        if (still()) this.open(url);
      },
      (err: unknown) => {
        if (still()) this.lost({ code: 1006, reason: `no token: ${err instanceof Error ? err.message : String(err)}` });
      },
    );
  }

  private open(url: string): void {
    const offered = this.options.codecs.map((c) => c.subprotocol).filter((p) => p !== '');
    let socket: WebSocketLike;
    try {
      const { WebSocket } = this.options;
      socket = offered.length > 0 ? new WebSocket(url, offered) : new WebSocket(url);
    } catch (err) {
      this.lost({ code: 1006, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.socket = socket;
    const current = () => this.socket === socket;
    socket.onopen = () => {
      this.currentCodec = pickCodec(this.options.codecs, socket.protocol);
      const hello = this.handlers.hello(this.currentCodec);
      if (hello !== undefined) socket.send(hello);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') this.handlers.message(event.data, current);
    };
    socket.onerror = () => undefined; // a close always follows
    socket.onclose = (event) => {
      if (!current()) return;
      this.lost({ code: event.code, reason: event.reason });
    };
    this.connectTimer = setTimeout(() => {
      if (!current() || this.current === 'open') return;
      abandon(socket);
      this.lost({ code: 1006, reason: `no welcome within ${this.options.connectTimeoutMs} ms` });
    }, this.options.connectTimeoutMs);
  }

  /** The connection is gone without close(): retry, unless the close forbids it or attempts are spent. */
  private lost(close: { code: number; reason: string }): void {
    this.clearTimers();
    this.socket = undefined;
    const reconnect = this.options.reconnect;
    const terminal = TERMINAL_CLOSE_CODES.has(close.code) || this.options.isTerminal?.(close.code) === true;
    const retry = reconnect !== false && !terminal && this.failures < reconnect.maxAttempts;
    this.handlers.closed({ ...close, willReconnect: retry });
    if (!retry) {
      this.setState({ state: 'closed' });
      this.handlers.stopped({ code: close.code });
      return;
    }
    const delayMs = backoffDelay(this.failures, reconnect, this.options.random);
    this.failures += 1;
    this.setState({ state: 'reconnecting', attempt: this.failures, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.dial();
    }, delayMs);
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
    this.handlers.state({ ...change, previous });
  }
}

function abandon(socket: WebSocketLike): void {
  detach(socket);
  try {
    socket.close(ABANDON_CLOSE);
  } catch {
    // Some implementations throw on a socket that never opened; it is gone either way.
  }
}

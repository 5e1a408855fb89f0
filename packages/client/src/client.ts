import {
  CloseCode,
  ErrorCode,
  MAX_MESSAGE_BYTES,
  TERMINAL_CLOSE_CODES,
  isBroadcastEvent,
  parseClientText,
  validateNickname,
  type BroadcastEvent,
  type ClientId,
  type Epoch,
  type Nickname,
  type NodeId,
  type Seq,
  type ServerFrame,
  type WelcomeFrame,
} from '@switchboard/protocol';
import { backoffDelay, resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
import { pickDialect, seedDialect, v2Dialect, type Dialect, type ResumeFrom } from './dialect.js';
import { Emitter, type Listener } from './emitter.js';
import { ClientError } from './errors.js';
import { Outbox, type Acknowledgement, type OutboxEntry, type OutgoingKind } from './outbox.js';
import { SequenceTracker } from './sequence.js';
import { SocketState, detach, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './socket.js';

/**
 * - `idle`: made, connect() not called yet;
 * - `connecting`: the first connection is being made;
 * - `open`: connected and welcomed;
 * - `reconnecting`: the connection was lost; waiting to retry, or retrying;
 * - `closed`: closed by close(), by a terminal close (1000, 1002, 1003, 1007, 1009, 4003, 4004), or out of attempts. Final.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Which protocol to speak: `v2` (subprotocol `switchboard.v2`: resume, acknowledgements) or the seed's `v1`. */
export type ProtocolVersion = 'v1' | 'v2';

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

/** Everything a later connection (or a reloaded page) needs to resume this v2 session. */
export interface ResumePoint extends ResumeFrom {
  /** The client id the session had. */
  readonly id: ClientId;
}

/**
 * Protocol v2: a reconnect did not continue the session with nothing missed.
 * - `session-expired`: the session is gone (grace period over, or unknown): a new session token; the same id
 *   when it ended within the history's lifetime (so resent refs are still recognised), else a new id;
 * - `epoch-changed`: the cluster's history was lost; seqs start again;
 * - `history-unavailable`: same session, but the events since `previous.since` could not be replayed.
 */
export interface ResumeFailure {
  readonly reason: 'session-expired' | 'epoch-changed' | 'history-unavailable';
  readonly previous: ResumePoint;
  readonly welcome: WelcomeFrame;
  /** In the same epoch: the seqs that were never delivered. */
  readonly missed?: { readonly from: Seq; readonly to: Seq };
}

/** Broadcast events were skipped on a live connection (never expected from a healthy cluster). */
export type Gap =
  | { readonly reason: 'seq'; readonly epoch: Epoch; readonly from: Seq; readonly to: Seq }
  | { readonly reason: 'epoch'; readonly previous: Epoch; readonly epoch: Epoch };

/** Protocol v2: a frame the server refused for good (or that the client gave up on). */
export interface Rejection {
  readonly ref: string;
  readonly kind: OutgoingKind;
  readonly text: string;
  readonly error: ClientError;
}

/** One event per server frame type, named after it, carrying that frame. */
export type FrameEvents = { [F in ServerFrame as F['type']]: F };

export type ClientEvents = FrameEvents & {
  /** Every frame, whatever its type, before its own event. Duplicate broadcasts are dropped before it. */
  frame: ServerFrame;
  /** Every state change, and every new reconnect attempt. */
  state: StateChange;
  /** Every connection that ends, deliberate or not. */
  close: CloseInfo;
  /** A text frame the client could not read (e.g. from a newer protocol); it is otherwise ignored. */
  unknown: string;
  /** Protocol v2: a send()/setNick() the server acknowledged. */
  acked: Acknowledgement;
  /** Protocol v2: a send()/setNick() refused for good; its promise rejects with the same error. */
  rejected: Rejection;
  /** Protocol v2: a reconnect could not resume without loss: events may have been missed. */
  resumeFailed: ResumeFailure;
  /** Events were skipped on a live connection. */
  gap: Gap;
};

export interface ClientOptions {
  /** The gateway's WebSocket URL, e.g. `ws://localhost:8080/ws`. */
  readonly url: string;
  /** The WebSocket implementation; default the global one (browsers). In Node 20 pass `ws`'s. */
  readonly WebSocket?: WebSocketConstructor;
  /** Default `v2`: offer `switchboard.v2` (a server that answers without it gets v1). `v1`: the seed's protocol only. */
  readonly protocol?: ProtocolVersion;
  /**
   * A nickname to hold. v1: taken after every welcome. v2: taken after a welcome
   * whose name differs (a new session), not after a resume, which keeps the name.
   */
  readonly nickname?: string;
  /** Protocol v2: a session to resume on the first connection (e.g. `resumePoint` saved before a page reload). */
  readonly resume?: ResumePoint;
  /** Retry timing, or false to never reconnect. Defaults in DEFAULT_RECONNECT. */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  /**
   * Protocol v2: when a frame is refused with a retryable code (BUS_UNAVAILABLE,
   * RATE_LIMITED), how long to wait before sending it again. Defaults: 250 ms
   * doubling to 5000 ms, jitter 0.5, maxAttempts Infinity (retryable refusals of one frame before it fails).
   */
  readonly sendRetry?: Partial<ReconnectOptions>;
  /** Protocol v2: most frames waiting for acknowledgement; past it send() throws OUTBOX_FULL. Default 100. */
  readonly maxOutbox?: number;
  /** How long one attempt may take until the welcome frame, in ms. Default 10000; then it counts as failed. */
  readonly connectTimeoutMs?: number;
  /** Largest frame the client will send, in bytes; larger input throws MESSAGE_TOO_BIG. Default 512, the gateway's. */
  readonly maxMessageBytes?: number;
  /** Source of randomness for jitter, for tests. Default Math.random. */
  readonly random?: () => number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OUTBOX = 100;
const DEFAULT_SEND_RETRY: Partial<ReconnectOptions> = { initialDelayMs: 250, maxDelayMs: 5_000 };

/** The close code of close(): the server ends the session and announces the leave at once. */
const NORMAL_CLOSE = CloseCode.NORMAL;
/** The close code for an attempt the client abandons: not 1000, so a v2 session it may hold survives. */
const ABANDON_CLOSE = 4000;


/** Refusals that say "not now" rather than "no": the frame is sent again after a delay. */
const RETRYABLE_ERRORS: ReadonlySet<string> = new Set([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);

/**
 * A Switchboard connection that stays up: it reconnects with exponential backoff
 * and jitter after any close but a deliberate or terminal one, and emits one typed
 * event per server frame.
 *
 * With protocol v2 (the default) it also resumes its session after a reconnect,
 * delivers broadcast events in seq order exactly once, and keeps every send() in
 * a bounded outbox, sent again with the same `ref` until the server acknowledges it.
 *
 * The transport (sockets, timers, states) lives here; how frames are written and
 * read is the Dialect's.
 */
export class SwitchboardClient {
  private readonly events = new Emitter<ClientEvents>();
  private readonly url: string;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly reconnect: ReconnectOptions | false;
  private readonly sendRetry: ReconnectOptions;
  private readonly connectTimeoutMs: number;
  private readonly maxMessageBytes: number;
  private readonly random: () => number;
  private readonly dialects: readonly Dialect[];
  private readonly encoder = new TextEncoder();
  private readonly outbox: Outbox;
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly tracker = new SequenceTracker();

  private current: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  private dialect: Dialect;
  /** Failed attempts since the last welcome. */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeFrame: WelcomeFrame | undefined;
  private ownNickname: Nickname | undefined;
  /** The name to hold: from options.nickname, setNick(), or the server's confirmation. */
  private wantedNickname: Nickname | undefined;
  /** Protocol v2: the session to resume next (options.resume, then the latest welcome's). */
  private session: ResumePoint | undefined;
  /** What the pending attempt's hello asked to resume. */
  private resumingFrom: ResumePoint | undefined;

  constructor(options: ClientOptions) {
    this.url = checkUrl(options.url);
    this.WebSocketImpl = resolveWebSocket(options.WebSocket);
    const protocol = options.protocol ?? 'v2';
    if (protocol !== 'v1' && protocol !== 'v2') throw new RangeError(`protocol must be "v1" or "v2", got "${String(protocol)}"`);
    this.dialects = protocol === 'v2' ? [v2Dialect] : [seedDialect];
    this.dialect = this.dialects[0]!;
    this.reconnect = options.reconnect === false ? false : resolveReconnectOptions(options.reconnect);
    this.sendRetry = resolveReconnectOptions({ ...DEFAULT_SEND_RETRY, ...options.sendRetry });
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs');
    this.maxMessageBytes = positive(options.maxMessageBytes ?? MAX_MESSAGE_BYTES, 'maxMessageBytes');
    this.random = options.random ?? Math.random;
    this.outbox = new Outbox(wholePositive(options.maxOutbox ?? DEFAULT_MAX_OUTBOX, 'maxOutbox'), this.random);
    if (options.nickname !== undefined) this.wantedNickname = checkNickname(options.nickname);
    if (options.resume !== undefined) this.session = checkResumePoint(options.resume);
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

  /** The protocol of the current (or latest) connection. */
  get protocol(): ProtocolVersion {
    return this.dialect.acknowledges ? 'v2' : 'v1';
  }

  /** The position of the last broadcast event delivered (or of the latest welcome). */
  get position(): { readonly epoch: Epoch; readonly seq: Seq } | undefined {
    return this.tracker.position;
  }

  /**
   * Protocol v2: what resumes this session where the application stands (save it
   * to resume after a page reload: options.resume). Undefined before the first
   * v2 welcome and after close().
   */
  get resumePoint(): ResumePoint | undefined {
    return this.session;
  }

  /** Protocol v2: frames sent and not acknowledged yet. */
  get pending(): number {
    return this.outbox.size;
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
   * Send a chat line. Throws ClientError at once for a blank line (EMPTY_MESSAGE),
   * past maxMessageBytes (MESSAGE_TOO_BIG), and:
   * - v2: OUTBOX_FULL, or NOT_OPEN when idle or closed. While connecting or
   *   reconnecting the line waits in the outbox. The promise resolves with its
   *   acknowledgement (seq, epoch) once the server has broadcast it, and rejects
   *   with the server's code when it is refused for good, or CLOSED.
   * - v1: NOT_OPEN unless open (nothing is kept); the promise resolves with
   *   undefined once the line is written.
   * Ignoring the promise is safe: a rejection is also the `rejected` event.
   */
  send(text: string): Promise<Acknowledgement | undefined> {
    if (text.trim().length === 0) throw new ClientError(ErrorCode.EMPTY_MESSAGE, 'Empty messages are not sent.');
    return this.enqueue('message', text);
  }

  /**
   * Rename; the same results as send(). The name is kept: after a reconnect that
   * does not resume the session, the client takes it again. Throws ClientError
   * for a name the server would refuse.
   */
  setNick(nickname: string): Promise<Acknowledgement | undefined> {
    const name = checkNickname(nickname);
    const done = this.enqueue('nick', name);
    this.wantedNickname = name;
    return done;
  }

  /** What a person typed: `/nick NAME` renames, anything else is a chat line. */
  submit(line: string): Promise<Acknowledgement | undefined> {
    const parsed = parseClientText(line);
    if (!parsed.ok) throw new ClientError(parsed.error.code, parsed.error.message);
    if (parsed.command.type === 'nick') return this.setNick(parsed.command.nickname);
    return this.send(parsed.command.message);
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
   * Close for good with 1000 (the server ends a v2 session and announces the leave
   * at once): no reconnect. Frames still waiting for acknowledgement reject with
   * CLOSED. Resolves once the socket has closed (lines written before it are
   * flushed first), at once if there is none.
   */
  close(code: number = NORMAL_CLOSE, reason = ''): Promise<void> {
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    const wasClosed = this.current === 'closed';
    if (!wasClosed) this.setState({ state: 'closed' });
    this.giveUp('The client was closed before the server acknowledged this.');
    this.session = undefined;
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

  private enqueue(kind: OutgoingKind, text: string): Promise<Acknowledgement | undefined> {
    const dialect = this.dialect;
    if (!dialect.acknowledges) {
      this.write(encode(dialect, kind, text));
      return Promise.resolve(undefined);
    }
    if (this.current === 'idle' || this.current === 'closed') {
      throw new ClientError('NOT_OPEN', `The client is ${this.current}; nothing was sent.`);
    }
    this.checkSize(encode(dialect, kind, text, this.outbox.peekRef()));
    const entry = this.outbox.add(kind, text);
    this.flush();
    return entry.done;
  }

  /** Write every frame of the outbox that is due, if the connection is open. */
  private flush(): void {
    if (this.current !== 'open') return;
    for (const entry of this.outbox.list()) {
      if (entry.state !== 'unsent') continue;
      try {
        this.write(encode(this.dialect, entry.kind, entry.text, entry.ref));
      } catch (err) {
        if (!(err instanceof ClientError) || err.code !== 'MESSAGE_TOO_BIG') return; // closed meanwhile: the next welcome sends it
        this.reject(entry, err);
        continue;
      }
      if (this.dialect.acknowledges) entry.state = 'sent';
      else this.outbox.written(entry);
    }
  }

  private write(frame: string): void {
    const socket = this.socket;
    if (this.current !== 'open' || socket === undefined || socket.readyState !== SocketState.OPEN) {
      throw new ClientError('NOT_OPEN', `Not connected (${this.current}); nothing was sent.`);
    }
    this.checkSize(frame);
    socket.send(frame);
  }

  private checkSize(frame: string): void {
    const bytes = this.encoder.encode(frame).length;
    if (bytes > this.maxMessageBytes) {
      throw new ClientError('MESSAGE_TOO_BIG', `The message is ${bytes} bytes; the limit is ${this.maxMessageBytes}.`);
    }
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
      this.resumingFrom = this.dialect.acknowledges ? this.session : undefined;
      const hello = this.dialect.hello(this.resumingFrom && resumeFrom(this.resumingFrom));
      if (hello !== undefined) socket.send(hello);
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
    if (isBroadcastEvent(frame)) {
      if (frame.ref !== undefined && frame.id === this.id) this.acknowledge(frame.ref, frame);
      if (!this.inOrder(frame)) return;
    }
    let failure: ResumeFailure | undefined;
    switch (frame.type) {
      case 'welcome':
        failure = this.welcomed(frame);
        break;
      case 'nick_update':
        if (frame.id === this.id) {
          this.ownNickname = frame.nickname;
          this.wantedNickname = frame.nickname;
        }
        break;
      case 'ack':
        this.acknowledge(frame.ref, frame);
        break;
      case 'error':
        this.refused(frame.ref, frame.code, frame.message);
        break;
      default:
        break;
    }
    if (this.session && isBroadcastEvent(frame)) this.session = { ...this.session, since: frame.seq, epoch: frame.epoch };
    this.events.emit('frame', frame);
    (this.events.emit as (type: string, value: ServerFrame) => void)(frame.type, frame);
    if (frame.type !== 'welcome') return;
    if (failure) this.events.emit('resumeFailed', failure);
    this.resend();
    this.restoreNickname();
  }

  /** Whether a broadcast event is new; duplicates are dropped, gaps and epoch changes reported. */
  private inOrder(frame: BroadcastEvent): boolean {
    const verdict = this.tracker.accept(frame);
    switch (verdict.kind) {
      case 'duplicate':
        return false;
      case 'gap':
        this.events.emit('gap', { reason: 'seq', epoch: frame.epoch, from: verdict.from, to: verdict.to });
        return true;
      case 'epoch':
        this.events.emit('gap', { reason: 'epoch', previous: verdict.previous, epoch: frame.epoch });
        return true;
      default:
        return true;
    }
  }

  /** Take the welcome: open, start the sequence there, and say whether a resume failed. */
  private welcomed(frame: WelcomeFrame): ResumeFailure | undefined {
    clearTimeout(this.connectTimer);
    this.welcomeFrame = frame;
    this.ownNickname = frame.nickname;
    this.failures = 0;
    if (frame.epoch !== undefined && frame.seq !== undefined) this.tracker.startAt({ epoch: frame.epoch, seq: frame.seq });
    const previous = this.resumingFrom;
    this.resumingFrom = undefined;
    if (this.dialect.acknowledges && frame.session !== undefined && frame.epoch !== undefined && frame.seq !== undefined) {
      this.session = { session: frame.session, id: frame.id, epoch: frame.epoch, since: frame.seq };
    }
    this.setState({ state: 'open' });
    if (previous === undefined || frame.resumed === true) return undefined;
    const reason: ResumeFailure['reason'] =
      frame.session !== previous.session || frame.id !== previous.id
        ? 'session-expired'
        : frame.epoch !== previous.epoch
          ? 'epoch-changed'
          : 'history-unavailable';
    const missed =
      frame.epoch === previous.epoch && frame.seq !== undefined && frame.seq > previous.since
        ? { from: previous.since + 1, to: frame.seq }
        : undefined;
    return { reason, previous, welcome: frame, ...(missed && { missed }) };
  }

  /** After a welcome: every frame not acknowledged goes out again, with its own ref. */
  private resend(): void {
    for (const entry of this.outbox.list()) {
      clearTimeout(this.retryTimers.get(entry.ref));
      this.retryTimers.delete(entry.ref);
      entry.state = 'unsent';
    }
    this.flush();
  }

  private acknowledge(ref: string, position: { seq: Seq; epoch: Epoch }): void {
    const entry = this.outbox.settle(ref, position);
    if (entry === undefined) return;
    clearTimeout(this.retryTimers.get(ref));
    this.retryTimers.delete(ref);
    this.events.emit('acked', { ref, kind: entry.kind, text: entry.text, seq: position.seq, epoch: position.epoch });
  }

  /** An error frame: a retryable refusal of a frame of ours is sent again after a delay; any other fails it. */
  private refused(ref: string | undefined, code: string, message: string): void {
    const entry = this.outbox.get(ref);
    if (entry === undefined) {
      if (code.startsWith('NICK_')) this.wantedNickname = this.ownNickname;
      return;
    }
    if (RETRYABLE_ERRORS.has(code) && entry.refusals < this.sendRetry.maxAttempts) {
      const delayMs = backoffDelay(entry.refusals, this.sendRetry, this.random);
      entry.refusals += 1;
      entry.state = 'backoff';
      this.retryTimers.set(
        entry.ref,
        setTimeout(() => {
          this.retryTimers.delete(entry.ref);
          entry.state = 'unsent';
          this.flush();
        }, delayMs),
      );
      return;
    }
    this.reject(entry, new ClientError(code as ErrorCode, message));
  }

  private reject(entry: OutboxEntry, error: ClientError): void {
    this.outbox.fail(entry, error);
    if (entry.kind === 'nick' && !this.outbox.hasPending('nick')) this.wantedNickname = this.ownNickname;
    this.events.emit('rejected', { ref: entry.ref, kind: entry.kind, text: entry.text, error });
  }

  /** The client is closed for good: every frame still waiting fails with CLOSED. */
  private giveUp(why: string): void {
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const entry of this.outbox.list()) this.reject(entry, new ClientError('CLOSED', why));
  }

  /**
   * Take the wanted name back after a welcome that does not carry it: every
   * welcome in v1, a new session in v2 (a resumed one keeps its name; a rename
   * still in the outbox was just sent again).
   */
  private restoreNickname(): void {
    const wanted = this.wantedNickname;
    if (wanted === undefined || wanted === this.ownNickname || this.current !== 'open') return;
    if (this.dialect.acknowledges) {
      if (this.outbox.hasPending('nick')) return;
      try {
        void this.enqueue('nick', wanted);
      } catch {
        // Outbox full: the next welcome tries again.
      }
      return;
    }
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
      this.giveUp(`The connection closed (${close.code}) before the server acknowledged this.`);
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
      socket.close(ABANDON_CLOSE);
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

function encode(dialect: Dialect, kind: OutgoingKind, text: string, ref?: string): string {
  return kind === 'nick' ? dialect.encodeNick(text, ref) : dialect.encodeMessage(text, ref);
}

function resumeFrom(point: ResumePoint): ResumeFrom {
  return { session: point.session, since: point.since, epoch: point.epoch };
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

function wholePositive(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a whole number > 0, got ${value}`);
  return value;
}

function checkResumePoint(point: ResumePoint): ResumePoint {
  const ok =
    typeof point === 'object' && point !== null &&
    typeof point.session === 'string' && point.session.length > 0 &&
    typeof point.id === 'string' && typeof point.epoch === 'string' &&
    Number.isSafeInteger(point.since) && point.since >= 0;
  if (!ok) throw new TypeError('resume must be { session, id, epoch, since } as read from client.resumePoint');
  return { session: point.session, id: point.id, epoch: point.epoch, since: point.since };
}

/** The server takes the first word after `/nick`; a name with spaces would be cut, so it is refused here. */
function checkNickname(nickname: string): string {
  const error = validateNickname(nickname);
  if (error) throw new ClientError(error.code, error.message);
  if (/\s/u.test(nickname)) throw new ClientError(ErrorCode.NICK_INVALID, 'Nicknames are one word, without spaces.');
  return nickname;
}

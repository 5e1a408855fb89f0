import {
  CloseCode,
  ErrorCode,
  isBroadcastEvent,
  parseClientText,
  type BroadcastEvent,
  type ClientLimits,
  type ClientId,
  type HelpFrame,
  type JoinedFrame,
  type MembersFrame,
  type MessageFrame,
  type Nickname,
  type NodeId,
  type Position,
  type RoomName,
  type RoomsFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '@switchboard/protocol';
import { ClientError } from './client-error.js';
import { Emitter, type Listener } from './emitter.js';
import { EventOrder, gapOf } from './event-order.js';
import type { ClientEvents } from './events.js';
import { byteLength, checkNickname, checkRoom, limitsOf } from './limits.js';
import { resolveClientOptions, type ClientOptions } from './options.js';
import type { Acknowledgement, Answer, OutgoingKind } from './outbox.js';
import type { ProtocolVersion } from './protocol-codec.js';
import { Sender } from './sender.js';
import { Session, type ResumeFailure, type ResumePoint } from './session.js';
import { refreshDelay, withToken, type TokenSource } from './token-source.js';
import { Transport, type CloseInfo, type ConnectionState } from './transport.js';

/** After getToken() failed at a refresh, how long until it is asked again, in ms (while the connection is open). */
const TOKEN_RETRY_MS = 5_000;

/**
 * A Switchboard connection that stays up: it reconnects with exponential backoff
 * and jitter after any close but a deliberate or terminal one, and emits one typed
 * event per server frame.
 *
 * With protocol v2 (the default) it also resumes its session after a reconnect,
 * delivers broadcast events in seq order exactly once, and keeps every send() in
 * a bounded outbox, sent again with the same `ref` until the server acknowledges it.
 *
 * A connection is in one room at a time (`lobby` first): join() moves it, and
 * the order of events is per room (see EventOrder). The recent lines of a room
 * sent after a welcome or a joined are `history` events, never `message` ones.
 *
 * This class is the facade: it reads each frame and hands it to the part whose
 * job it is. The socket lifecycle and reconnects are the Transport's, how frames
 * are written and read the ProtocolCodec's, the order of broadcasts the
 * EventOrder's, the outbox the Sender's, identity and resume the Session's.
 */
export class SwitchboardClient {
  private readonly events = new Emitter<ClientEvents>();
  private readonly transport: Transport;
  private readonly session: Session;
  private readonly order = new EventOrder();
  private readonly sender: Sender;
  /** options.maxMessageBytes, which replaces the announced limit. */
  private readonly maxMessageBytes: number | undefined;
  /** options.token / getToken, when identity is on. */
  private readonly tokens: TokenSource | undefined;
  /** The token the current connection carries (its URL's, or the latest refresh's). */
  private token: string | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** The refresh sent on this connection and not answered yet: its ref (v2; v1 frames carry none). */
  private refreshing: { readonly ref: string | undefined } | undefined;
  /** Refreshes sent, for their refs. */
  private refreshes = 0;

  constructor(options: ClientOptions) {
    const resolved = resolveClientOptions(options);
    this.session = new Session(resolved.nickname, resolved.room, resolved.resume);
    const tokens = (this.tokens = resolved.tokens);
    const transportOptions = {
      ...resolved,
      urlFor:
        tokens &&
        (async () => {
          this.token = await tokens.next();
          return withToken(resolved.url, this.token);
        }),
      // 4010 TOKEN_EXPIRED, 4012 TOKEN_INVALID: only a new token gets back in; without a way to get one, retrying is pointless.
      isTerminal: (code: number) => (code === CloseCode.TOKEN_EXPIRED || code === CloseCode.TOKEN_INVALID) && tokens?.renewable !== true,
    };
    this.transport = new Transport(transportOptions, {
      hello: (codec) => this.session.hello(codec),
      message: (text, current) => this.receive(text, current),
      state: (change) => this.events.emit('state', change),
      closed: (info) => this.connectionClosed(info),
      stopped: (lost) => {
        this.sender.giveUp(
          lost === undefined
            ? 'The client was closed before the server acknowledged this.'
            : `The connection closed (${lost.code}) before the server acknowledged this.`,
        );
        if (lost === undefined) this.session.forget();
      },
    });
    this.maxMessageBytes = resolved.maxMessageBytes;
    this.sender = new Sender(
      this.transport,
      {
        pending: (frame) => this.events.emit('pending', frame),
        acked: (ack) => this.events.emit('acked', ack),
        rejected: (rejection) => {
          if (rejection.kind === 'nick' && !this.sender.hasPending('nick')) this.session.keepCurrentName();
          if (rejection.kind === 'join' && !this.sender.hasPending('join')) this.session.keepCurrentRoom();
          this.events.emit('rejected', rejection);
        },
        unanswered: (reason) => this.transport.recycle(reason),
      },
      { ...resolved, limits: limitsOf(undefined, resolved.maxMessageBytes) },
    );
  }

  get state(): ConnectionState {
    return this.transport.state;
  }

  /** This connection's id, from the latest welcome. */
  get id(): ClientId | undefined {
    return this.session.id;
  }

  /** The nickname the server knows this client by now. */
  get nickname(): Nickname | undefined {
    return this.session.nickname;
  }

  /** The gateway node serving this connection. */
  get node(): NodeId | undefined {
    return this.session.node;
  }

  /** The protocol of the current (or latest) connection. */
  get protocol(): ProtocolVersion {
    return this.transport.codec.version;
  }

  /** The room this connection is in (`lobby` on connecting), by the latest welcome or joined. */
  get room(): RoomName | undefined {
    return this.session.room;
  }

  /** The position, in the current room, of the last broadcast event delivered (or of the latest welcome or joined). */
  get position(): Position | undefined {
    return this.order.position;
  }

  /**
   * Protocol v2: what resumes this session where the application stands (save it
   * to resume after a page reload: options.resume). Undefined before the first
   * v2 welcome and after close().
   */
  get resumePoint(): ResumePoint | undefined {
    return this.session.resumePoint;
  }

  /** Frames not acknowledged yet (v2), or not written yet, waiting for their turn under the pace (v1); requests not answered yet. */
  get pending(): number {
    return this.sender.pending;
  }

  /**
   * Protocol v2: frames written again so far, over the client's life: after
   * ackTimeoutMs without an answer, after a retryable refusal, after a reconnect.
   */
  get resends(): number {
    return this.sender.resends;
  }

  /**
   * The limits the client respects now: those the latest welcome announced
   * (`welcome.limits`), the protocol's defaults for any it did not (and before the
   * first welcome), with options.maxMessageBytes over the announced size.
   */
  get limits(): ClientLimits {
    return this.sender.limits;
  }

  /**
   * The size, in bytes of UTF-8, of the frame send(text) would write now, to hold
   * against limits.maxMessageBytes: v2 the JSON frame with its ref and escaping,
   * v1 the text itself.
   */
  frameBytes(text: string): number {
    return byteLength(this.sender.frameFor('message', text));
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
    this.transport.start();
    return this.whenOpen();
  }

  /** Resolves with the welcome once the client is open (at once if it is); rejects if it closes first. */
  whenOpen(): Promise<WelcomeFrame> {
    const state = this.state;
    const welcome = this.session.welcome;
    if (state === 'open' && welcome) return Promise.resolve(welcome);
    if (state === 'idle' || state === 'closed') {
      return Promise.reject(new ClientError('NOT_OPEN', `The client is ${state}.`));
    }
    return new Promise((resolve, reject) => {
      const offState = this.on('state', (change) => {
        const latest = this.session.welcome;
        if (change.state === 'open' && latest) {
          offState();
          resolve(latest);
        } else if (change.state === 'closed') {
          offState();
          reject(new ClientError('NOT_OPEN', 'The client closed before it connected.'));
        }
      });
    });
  }

  /**
   * Send a chat line. Throws ClientError at once, and sends nothing, for a blank
   * line (EMPTY_MESSAGE) and a frame over limits.maxMessageBytes (MESSAGE_TOO_BIG:
   * the connection stays open), and:
   * - v2: OUTBOX_FULL, or NOT_OPEN when idle or closed. While connecting or
   *   reconnecting the line waits in the outbox. The promise resolves with its
   *   acknowledgement (seq, epoch) once the server has broadcast it, and rejects
   *   with the server's code when it is refused for good, or CLOSED.
   * - v1: NOT_OPEN unless open; the promise resolves with undefined once the
   *   line is written.
   * Lines go out in order, paced to the server's announced rate and burst, so
   * that the server never refuses them as too fast (RATE_LIMITED).
   * Ignoring the promise is safe: a rejection is also the `rejected` event.
   */
  send(text: string): Promise<Acknowledgement | undefined> {
    if (text.trim().length === 0) throw new ClientError(ErrorCode.EMPTY_MESSAGE, 'Empty messages are not sent.');
    return this.sender.enqueue('message', text);
  }

  /**
   * Rename; the same results as send(). The name is kept: after a reconnect that
   * does not resume the session, the client takes it again. Throws ClientError
   * for a name the server would refuse (NICK_TOO_LONG past limits.maxNicknameLength).
   */
  setNick(nickname: string): Promise<Acknowledgement | undefined> {
    const name = checkNickname(nickname, this.limits);
    const done = this.sender.enqueue('nick', name);
    this.session.want(name);
    return done;
  }

  /**
   * Move to another room (`#dev` or `dev`; names are lower-cased). Resolves with
   * the `joined` frame once the server has moved the client: from then on its
   * events are that room's, after that frame's position, with the room's recent
   * lines first as `history` events. Rejects with the server's code (ROOM_LIMIT:
   * the cluster has as many rooms as it may), or CLOSED. Throws ClientError at
   * once for a name the server would refuse (ROOM_INVALID), and as send() does
   * (NOT_OPEN, OUTBOX_FULL). The room is kept: after a reconnect that does not
   * resume the session (a new one starts in `lobby`), the client joins it again.
   */
  join(room: string): Promise<JoinedFrame> {
    const name = checkRoom(room);
    const done = this.request('join', name);
    this.session.wantRoom(name);
    return done;
  }

  /** Who is in my room, cluster-wide: resolves with the `members` frame (at most MAX_MEMBERS_LISTED; `count` is the total). */
  who(): Promise<MembersFrame> {
    return this.request('who', '');
  }

  /** Which rooms have people in them, the fullest first: resolves with the `rooms` frame. */
  rooms(): Promise<RoomsFrame> {
    return this.request('rooms', '');
  }

  /** Which commands there are: resolves with the `help` frame. */
  help(): Promise<HelpFrame> {
    return this.request('help', '');
  }

  /**
   * What a person typed: `/nick NAME` renames, `/join ROOM`, `/who`, `/rooms` and
   * `/help` ask (as join(), who(), rooms(), help()), any other `/word` throws
   * UNKNOWN_COMMAND (nothing is sent: the server would refuse it too), anything
   * else is a chat line.
   */
  submit(line: string): Promise<Answer> {
    const parsed = parseClientText(line);
    if (!parsed.ok) throw new ClientError(parsed.error.code, parsed.error.message);
    const command = parsed.command;
    switch (command.type) {
      case 'nick':
        return this.setNick(command.nickname);
      case 'join':
        return this.join(command.room);
      case 'who':
        return this.who();
      case 'rooms':
        return this.rooms();
      case 'help':
        return this.help();
      case 'message':
        return this.send(command.message);
      case 'refresh':
        // A token is the application's to give (the token option), not something typed.
        throw new ClientError(ErrorCode.TOKEN_INVALID, 'Tokens are not typed: the application gives them to the client.');
    }
  }

  /**
   * While reconnecting and waiting out a backoff delay, try now (e.g. when a
   * browser reports it is back online). Does nothing in any other state.
   */
  reconnectNow(): void {
    this.transport.reconnectNow();
  }

  /**
   * Close for good with 1000 (the server ends a v2 session and announces the leave
   * at once): no reconnect. Frames still waiting for acknowledgement reject with
   * CLOSED. Resolves once the socket has closed (lines written before it are
   * flushed first), at once if there is none.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    return this.transport.close(code, reason);
  }

  /** A connection ended: no refresh for it any more; 4010 and 4011 get their own events after `close`. */
  private connectionClosed(info: CloseInfo): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.refreshing = undefined;
    this.events.emit('close', info);
    if (info.code === CloseCode.TOKEN_EXPIRED) this.events.emit('tokenExpired', info);
    if (info.code === CloseCode.DISCONNECTED_BY_SERVER) this.events.emit('disconnectedByServer', info);
  }

  /** Refresh the connection's token before it expires (by its `exp`), when a new one can be had. */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.tokens?.renewable !== true || this.token === undefined) return;
    const delayMs = refreshDelay(this.token, Date.now());
    if (delayMs !== undefined) this.refreshTimer = setTimeout(() => void this.refresh(), delayMs);
  }

  /** A new token, sent on the open connection (v2 `refresh`, v1 `/refresh TOKEN`): no reconnect. */
  private async refresh(): Promise<void> {
    this.refreshTimer = undefined;
    let token: string;
    try {
      token = await this.tokens!.next();
    } catch (err) {
      this.events.emit('tokenError', err instanceof Error ? err : new Error(String(err)));
      if (this.state === 'open') this.refreshTimer = setTimeout(() => void this.refresh(), TOKEN_RETRY_MS);
      return;
    }
    if (this.state !== 'open') return;
    const ref = this.protocol === 'v2' ? `refresh-${++this.refreshes}` : undefined;
    const frame = ref !== undefined ? JSON.stringify({ type: 'refresh', token, ref }) : `/refresh ${token}`;
    try {
      this.transport.write(frame);
    } catch {
      return; // closed meanwhile: the next connection asks for a token anyway
    }
    // Taken as in force (a server too old to answer a refresh says nothing); a refusal is answered below.
    this.refreshing = { ref };
    this.token = token;
    this.scheduleRefresh();
  }

  /**
   * The server's answer to the refresh in flight, if `frame` is one: an `ack`
   * (with its ref; v1: any `ack`, which carries none) emits `tokenRefreshed`; a
   * TOKEN_INVALID refusal emits `tokenError` and asks getToken() again in 5 s.
   */
  private refreshAnswered(frame: ServerFrame): void {
    const pending = this.refreshing;
    if (pending === undefined || (frame.type !== 'ack' && frame.type !== 'error')) return;
    if (frame.ref !== pending.ref) return;
    if (frame.type === 'error' && frame.code !== ErrorCode.TOKEN_INVALID) return;
    this.refreshing = undefined;
    if (frame.type === 'ack') {
      this.events.emit('tokenRefreshed', frame);
      return;
    }
    this.events.emit('tokenError', new ClientError(frame.code, frame.message));
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), TOKEN_RETRY_MS);
  }

  /** A text frame: each frame it carries, in order, while its socket is still ours. */
  private receive(text: string, current: () => boolean): void {
    const frames = this.transport.codec.decode(text);
    if (frames === undefined) {
      this.events.emit('unknown', text);
      return;
    }
    for (const frame of frames) {
      if (!current()) return;
      this.dispatch(frame);
    }
  }

  private dispatch(frame: ServerFrame): void {
    const history = isHistory(frame);
    if (isBroadcastEvent(frame)) {
      // Acknowledged wherever it is: a line sent just before a join is broadcast in the room left.
      if (frame.ref !== undefined && frame.id === this.id) this.sender.acknowledge(frame.ref, frame);
      if (!this.order.inRoom(frame)) return;
      if (history ? !this.order.acceptHistory(frame) : !this.inOrder(frame)) return;
    }
    let failure: ResumeFailure | undefined;
    switch (frame.type) {
      case 'welcome':
        failure = this.welcomed(frame);
        break;
      case 'joined':
        this.order.startAt(frame, frame.room);
        this.session.joined(frame);
        this.sender.answer(frame);
        break;
      case 'members':
      case 'rooms':
      case 'help':
        this.sender.answer(frame);
        break;
      case 'nick_update':
        this.session.renamed(frame);
        break;
      case 'ack':
        if (frame.ref !== undefined) this.sender.acknowledge(frame.ref, frame);
        this.refreshAnswered(frame);
        break;
      case 'error':
        if (!this.sender.refused(frame.ref, frame.code, frame.message, frame.retryAfterMs) && frame.code.startsWith('NICK_')) {
          this.session.keepCurrentName();
        }
        this.refreshAnswered(frame);
        break;
      default:
        break;
    }
    if (isBroadcastEvent(frame) && !history) this.session.delivered(frame);
    this.events.emit('frame', frame);
    if (history) this.events.emit('history', frame);
    else (this.events.emit as (type: string, value: ServerFrame) => void)(frame.type, frame);
    if (frame.type !== 'welcome') return;
    if (failure) this.events.emit('resumeFailed', failure);
    this.sender.resend();
    this.restoreNickname();
    this.restoreRoom();
  }

  /** A request (join, who, rooms) through the outbox, as a line is: paced, with a ref, resent after a welcome. */
  private request<K extends Exclude<OutgoingKind, 'message' | 'nick'>>(kind: K, text: string) {
    const welcome = this.session.welcome;
    if (welcome !== undefined && welcome.room === undefined) {
      throw new ClientError('NOT_SUPPORTED', 'This server has no rooms (its welcome names none); nothing was sent.');
    }
    return this.sender.enqueue(kind, text);
  }

  /** Whether a broadcast event is new; duplicates are dropped, gaps and epoch changes reported. */
  private inOrder(frame: BroadcastEvent): boolean {
    const step = this.order.accept(frame);
    if (step.kind === 'duplicate') return false;
    const gap = gapOf(step, frame);
    if (gap) this.events.emit('gap', gap);
    return true;
  }

  /** Take the welcome: identity and resume point, the order's starting point, its limits, then open. */
  private welcomed(frame: WelcomeFrame): ResumeFailure | undefined {
    const failure = this.session.welcomed(frame, this.transport.codec);
    if (frame.epoch !== undefined && frame.seq !== undefined) this.order.startAt({ epoch: frame.epoch, seq: frame.seq }, frame.room);
    this.sender.welcomed(limitsOf(frame, this.maxMessageBytes));
    this.transport.welcomed();
    this.scheduleRefresh();
    return failure;
  }

  /**
   * Take the wanted name back after a welcome that does not carry it: every
   * welcome in v1, a new session in v2 (a resumed one keeps its name; a rename
   * still in the outbox was just sent again).
   */
  private restoreNickname(): void {
    const wanted = this.session.nameToRestore();
    if (wanted === undefined || this.state !== 'open') return;
    if (this.transport.codec.acknowledges && this.sender.hasPending('nick')) return;
    try {
      void this.sender.enqueue('nick', wanted);
    } catch {
      // Outbox full, or closed meanwhile: the next welcome tries again.
    }
  }

  /**
   * Go back to the room to be in after a welcome elsewhere: a new session (v2),
   * or any new connection (v1), starts in `lobby`. A join still in the outbox was
   * just sent again.
   */
  private restoreRoom(): void {
    const wanted = this.session.roomToRestore();
    if (wanted === undefined || this.state !== 'open' || this.session.welcome?.room === undefined) return;
    if (this.sender.hasPending('join')) return;
    try {
      void this.sender.enqueue('join', wanted);
    } catch {
      // Outbox full, or closed meanwhile: the next welcome tries again.
    }
  }
}

/** A recent line sent after a welcome or a joined (`history: true`): shown as such, not news. */
function isHistory(frame: ServerFrame): frame is MessageFrame & { readonly history: true } {
  return frame.type === 'message' && frame.history === true;
}

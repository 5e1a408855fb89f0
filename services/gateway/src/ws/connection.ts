import type { RawData, WebSocket } from 'ws';
import { nanoid } from 'nanoid';
import {
  CloseCode,
  ErrorCode,
  RateLimitedDetail,
  errorInfo,
  parseClientFrameV2,
  parseClientText,
  parseHello,
  rateLimited,
  withRef,
  TOKEN_NAME_CHANGED,
  type ClientId,
  type HelloFrame,
  type Nickname,
} from '@switchboard/protocol';
import type { Hub } from '../hub/hub.js';
import type { Outgoing, Peer, ProtocolVersion } from '../hub/peer.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { writeFrames } from '../platform/ws-frames.js';
import { BatchCache, type FlushScheduler, type Flushable } from './flush-scheduler.js';
import type { Beating, Heartbeat } from './heartbeat.js';
import { CommandRates, type CommandRate, type CommandRateLimits } from './command-rates.js';
import { RateLimiter } from './rate-limiter.js';
import { startable, type TokenVerifier, type UserToken } from '../auth/token-verifier.js';
import type { UserRates } from './user-rates.js';

export interface ConnectionLimits extends CommandRateLimits {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly messageRatePerSec: number;
  readonly messageBurst: number;
  readonly helloTimeoutMs: number;
}

/** What every connection of a node shares. */
export interface ConnectionContext {
  /** Called once for each connection, when it has closed and the hub has been told. */
  readonly ended: (conn: Connection) => void;
  readonly hub: Hub;
  readonly limits: ConnectionLimits;
  readonly flush: FlushScheduler;
  readonly heartbeat: Heartbeat;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Identity on: how tokens are checked (a v2 `hello`'s, a `refresh`'s), and how long one outlives its `exp`. */
  readonly identity?: { readonly verifier: TokenVerifier; readonly expiryGraceMs: number; readonly rates: UserRates };
}

/** Frames a v2 client may send while its `hello` token is being checked; past it the connection is closed. */
const MAX_FRAMES_WHILE_VERIFYING = 64;

/** Slots of a connection's outbox kept from flush to flush; one that held more is let go (memory of idle connections). */
const OUTBOX_KEPT_SLOTS = 32;

/** What a RATE_LIMITED refusal of each command rate says. */
const RATE_DETAIL: Readonly<Record<CommandRate, string>> = { join: RateLimitedDetail.JOIN, presence: RateLimitedDetail.PRESENCE_QUERY };

/** After a close frame is sent, how long the peer has to answer before the socket is destroyed, in ms. */
const CLOSE_GRACE_MS = 2_000;

/**
 * One client's WebSocket on this node. It enforces the per-connection rules
 * (binary frames, heartbeat, outbound buffer budget, message rate, the rates of
 * joins and presence questions (CommandRates), v2 hello; ws
 * itself enforces MAX_MESSAGE_BYTES with 1009 and UTF-8 with 1007), parses frames
 * in the connection's protocol and hands them to the hub. Each rule's outcome is a
 * close code or an error frame, and a log line with the reason.
 *
 * Frames to the client are queued and written once per turn of the event loop
 * (FlushScheduler): the seed protocol gets one frame per event (its parser
 * expects one JSON object per frame) in one write; protocol v2 gets them in one
 * batch frame. Heartbeat and hello deadlines are checked by the node's one
 * Heartbeat, not by timers of its own.
 */
export class Connection implements Peer, Flushable, Beating {
  readonly conn = nanoid(12);
  id: ClientId = '';
  nickname: Nickname = '';
  /** Settles whenClosed(), once someone waits for it. */
  private onClosed: (() => void) | undefined;
  /** Its message rate: its own, or (identity on) its user's on this node, shared with the user's other connections. */
  private rate: RateLimiter;
  /** The user whose rate it shares (given back when it closes). */
  private rateOf: string | undefined;
  /** The rates of joins and presence questions: made at the first one (an idle connection holds none). */
  private commandRates: CommandRates | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private isClosed = false;
  /** When the client last showed it is alive (a frame or a pong), and when it was last pinged: heartbeat time, ms. */
  private lastSeen: number;
  private lastPing: number;
  /** Protocol v2: until when `hello` may come (0 once it has, or for the seed protocol). */
  private helloDeadline: number;
  private admitting = false;
  /** Protocol v2, identity on: frames that came while the `hello` token was checked, handled once it is. */
  private awaitingToken: Array<{ data: Buffer; isBinary: boolean }> | undefined;
  /**
   * Frames queued this turn: the first `queued` slots of `outbox`, an array kept
   * from flush to flush (no allocation per flush; slots are cleared once
   * written), and their bytes.
   */
  private outbox: Array<Outgoing | undefined> = [];
  /** When the connection opened (heartbeat clock, ms): its length is logged when it closes. */
  private readonly openedAt: number;
  private queued = 0;
  private outboxBytes = 0;
  /**
   * The socket's buffered bytes as of the last flush: an upper bound until the
   * next one (only writes add to it), so send() reads ws's getter only when this
   * bound says the budget may be passed, not once per event.
   */
  private socketBytes = 0;

  constructor(
    private readonly socket: WebSocket,
    readonly protocol: ProtocolVersion,
    private readonly context: ConnectionContext,
    /** The client's address (see UpgradeGate.addressOf). */
    readonly address?: string,
    /** Identity on: the user its token names (refreshed in place); undefined until a v2 `hello` brings one. */
    public user?: UserToken,
  ) {
    const { limits } = context;
    this.rate = new RateLimiter(limits.messageRatePerSec, limits.messageBurst);
    if (user !== undefined) this.shareRate(user.sub);
    this.lastSeen = this.lastPing = this.openedAt = context.heartbeat.now();
    this.helloDeadline = protocol === 'v2' ? this.lastSeen + limits.helloTimeoutMs : 0;

    (socket as TaggedSocket)[CONNECTION] = this;
    socket.on('message', onSocketMessage);
    socket.on('pong', onSocketPong);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    context.heartbeat.add(this);
    if (protocol === 'v1') this.admit();
  }

  /** Resolves once the socket is closed and the hub has been told. */
  whenClosed(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.onClosed;
      this.onClosed = () => {
        before?.();
        resolve();
      };
    });
  }

  /**
   * A logger carrying this connection's `conn` id, made when something is logged
   * and not kept: an idle connection holds no logger of its own.
   */
  get log(): Logger {
    return this.context.log.child({ conn: this.conn });
  }

  send(out: Outgoing): void {
    if (this.isClosed || this.closeTimer || this.socket.readyState !== this.socket.OPEN) return;
    const budget = this.context.limits.maxBufferedBytes;
    if (this.socketBytes + this.outboxBytes + out.payload.length > budget) this.socketBytes = this.socket.bufferedAmount;
    const buffered = this.socketBytes + this.outboxBytes;
    if (buffered + out.payload.length > budget) {
      this.log.warn({ reason: 'SLOW_CONSUMER', buffered, budget }, 'slow consumer: outbound buffer over budget');
      this.context.metrics.closed('slow_consumer');
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      return;
    }
    this.outbox[this.queued++] = out;
    this.outboxBytes += out.payload.length;
    if (this.queued === 1) this.context.flush.schedule(this);
  }

  /** Write everything queued: one write for all of it. The outbox is emptied and kept for the next frames. */
  flush(batches: BatchCache): void {
    const count = this.queued;
    if (count === 0) return;
    const items = this.outbox as Outgoing[];
    if (this.socket.readyState === this.socket.OPEN) {
      const wire = this.protocol === 'v2' ? batches.batch(items, count) : batches.run(items, count);
      writeFrames(this.socket, wire);
      this.socketBytes = this.socket.bufferedAmount;
    }
    this.queued = 0;
    this.outboxBytes = 0;
    // A burst's long array is let go; a short one is kept, its slots cleared.
    if (count > OUTBOX_KEPT_SLOTS) this.outbox = [];
    else this.outbox.fill(undefined, 0, count);
  }

  /** Close with a code, after what is queued; the socket is destroyed if the peer does not answer in time. */
  close(code: number, reason: string): void {
    if (this.closeTimer || this.isClosed) return;
    this.flushNow();
    this.socket.close(code, reason);
    this.closeTimer = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  beat(now: number): void {
    if (this.isClosed) return;
    const { limits } = this.context;
    if (now - this.lastSeen >= limits.pongTimeoutMs) {
      this.log.warn({ reason: 'HEARTBEAT_TIMEOUT', timeoutMs: limits.pongTimeoutMs }, 'dropping client: no pong');
      this.context.metrics.closed('heartbeat');
      // A peer that does not answer pings will not answer a close handshake either.
      this.socket.terminate();
      return;
    }
    if (this.helloDeadline !== 0 && now >= this.helloDeadline) {
      this.helloDeadline = 0;
      this.log.warn({ reason: 'HELLO_TIMEOUT', timeoutMs: limits.helloTimeoutMs }, 'closing connection: no hello');
      this.context.metrics.closed('hello_timeout');
      this.close(CloseCode.HELLO_EXPECTED, 'hello expected');
      return;
    }
    if (
      this.user !== undefined &&
      this.context.identity !== undefined &&
      Date.now() >= this.user.expiresAt + this.context.identity.expiryGraceMs
    ) {
      this.log.info(
        { reason: 'TOKEN_EXPIRED', graceMs: this.context.identity.expiryGraceMs },
        'closing connection: token expired, not refreshed',
      );
      this.context.metrics.closed('token_expired');
      this.user = undefined;
      this.close(CloseCode.TOKEN_EXPIRED, 'token expired');
      return;
    }
    if (now - this.lastPing >= limits.pingIntervalMs && this.socket.readyState === this.socket.OPEN) {
      this.lastPing = now;
      this.socket.ping();
    }
  }

  /** The socket closed (with `code`): stop its deadlines and tell the hub. Called by the socket listeners below. */
  ended(code: number, reason: Buffer): void {
    this.isClosed = true;
    this.outbox = [];
    this.queued = 0;
    this.context.heartbeat.delete(this);
    clearTimeout(this.closeTimer);
    if (this.rateOf !== undefined) this.context.identity?.rates.release(this.rateOf);
    this.rateOf = undefined;
    // The one info line of a connection (its other steps are at debug): who it was, from where, for how long.
    this.log.info(
      {
        code,
        reason: reason.toString(),
        protocol: this.protocol,
        remote: this.address,
        id: this.id,
        nickname: this.nickname,
        seconds: Math.round((this.context.heartbeat.now() - this.openedAt) / 100) / 10,
      },
      'connection closed',
    );
    this.context.hub.leave(this, code);
    this.context.ended(this);
    this.onClosed?.();
    this.onClosed = undefined;
  }

  private flushNow(): void {
    if (this.queued > 0) this.flush(new BatchCache());
  }

  private admit(hello?: HelloFrame): void {
    this.admitting = true;
    this.helloDeadline = 0;
    this.context.hub.admit(this, hello).catch((err: Error) => {
      this.log.warn({ reason: 'ADMISSION_FAILED', err: err.message }, 'closing connection: cluster unavailable');
      this.close(CloseCode.TRY_AGAIN_LATER, 'cluster unavailable, try again');
    });
  }

  /** Any frame or pong from the client restarts its heartbeat deadline. Called by the socket listeners below. */
  alive(): void {
    this.lastSeen = this.context.heartbeat.now();
  }

  /** A frame from the client. Called by the socket listeners below. */
  onFrame(data: Buffer, isBinary: boolean): void {
    this.context.metrics.frameReceived();
    this.alive();
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (isBinary) {
      this.log.warn({ reason: 'BINARY_FRAME', bytes: data.length }, 'closing connection: binary frames are not supported');
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported');
      return;
    }
    if (this.awaitingToken !== undefined) {
      if (this.awaitingToken.push({ data, isBinary }) > MAX_FRAMES_WHILE_VERIFYING) {
        this.close(CloseCode.HELLO_EXPECTED, 'too many frames before welcome');
      }
      return;
    }
    const text = data.toString('utf8');
    if (this.protocol === 'v2' && !this.admitting) {
      const hello = parseHello(text);
      if (!hello.ok) {
        this.log.warn({ reason: 'HELLO_EXPECTED' }, 'closing connection: first frame was not hello');
        this.close(CloseCode.HELLO_EXPECTED, 'hello expected');
        return;
      }
      if (this.context.identity !== undefined && this.user === undefined) this.verifyHello(hello.hello);
      else this.admit(hello.hello);
      return;
    }
    const parsed = this.protocol === 'v2' ? parseClientFrameV2(text) : parseClientText(text);
    const ref = parsed.ok ? parsed.command.ref : parsed.ref;
    if (!this.rate.take()) {
      const retryAfterMs = this.rate.waitMs();
      this.log.debug({ reason: 'RATE_LIMITED', retryAfterMs }, 'refused frame over the rate limit');
      this.context.hub.refuse(this, rateLimited(retryAfterMs), ref);
      return;
    }
    const commandRate = parsed.ok ? CommandRates.rateOf(parsed.command) : undefined;
    if (commandRate !== undefined) {
      const retryAfterMs = (this.commandRates ??= new CommandRates(this.context.limits)).take(commandRate);
      if (retryAfterMs > 0) {
        this.log.debug({ reason: 'RATE_LIMITED', rate: commandRate, retryAfterMs }, `refused ${commandRate} over its rate limit`);
        this.context.hub.refuse(this, rateLimited(retryAfterMs, RATE_DETAIL[commandRate]), ref);
        return;
      }
    }
    if (parsed.ok && parsed.command.type === 'refresh') {
      this.refresh(parsed.command.token, ref);
      return;
    }
    this.context.hub.receive(this, parsed);
  }

  /**
   * Identity on, protocol v2, no token on the upgrade: the `hello` must carry
   * one. Checked before admission (frames sent meanwhile wait); refused: closed
   * with 4012 TOKEN_INVALID (4010 when it only expired), before any Redis work.
   */
  private verifyHello(hello: HelloFrame): void {
    this.helloDeadline = 0;
    const refuse = (reason: string) => {
      this.log.info({ reason }, 'closing connection: hello token refused');
      this.context.metrics.closed('token_invalid');
      this.awaitingToken = undefined;
      this.close(reason === 'token_expired' ? CloseCode.TOKEN_EXPIRED : CloseCode.TOKEN_INVALID, reason.replace('_', ' '));
    };
    if (hello.token === undefined) {
      refuse('token_missing');
      return;
    }
    this.awaitingToken = [];
    void this.context.identity!.verifier.verify(hello.token).then((answer) => {
      const verified = startable(answer);
      if (this.isClosed) return;
      if (!verified.ok) {
        refuse(verified.reason);
        return;
      }
      this.user = verified.user;
      this.shareRate(verified.user.sub);
      const waiting = this.awaitingToken ?? [];
      this.awaitingToken = undefined;
      this.admit(hello);
      for (const frame of waiting) this.onFrame(frame.data, frame.isBinary);
    });
  }

  /** Identity on: from now on its messages count against its user's rate on this node. */
  private shareRate(user: string): void {
    const rates = this.context.identity?.rates;
    if (rates === undefined || this.rateOf !== undefined) return;
    this.rate = rates.acquire(user);
    this.rateOf = user;
  }

  /**
   * A new token for this connection (`refresh`): accepted when it verifies,
   * names the same user and gives it the same name (its `name` claim, or none,
   * as before: a name from the sign-in changes only with a new connection); it
   * then replaces the old one (its expiry, its rooms), and the hub enforces its
   * rooms and answers with an `ack` (CommandHandler). Otherwise TOKEN_INVALID,
   * and the connection keeps the token it had.
   */
  private refresh(token: string, ref: string | undefined): void {
    const identity = this.context.identity;
    const current = this.user;
    const invalid = (detail?: string) => this.context.hub.refuse(this, errorInfo(ErrorCode.TOKEN_INVALID, detail), ref);
    if (identity === undefined || current === undefined) {
      invalid();
      return;
    }
    void identity.verifier.verify(token).then((verified) => {
      if (this.isClosed || this.user === undefined) return;
      if (!verified.ok || verified.user.sub !== this.user.sub) {
        this.log.info({ reason: verified.ok ? 'other_user' : verified.reason }, 'refresh refused');
        invalid();
        return;
      }
      if (verified.user.name !== this.user.name) {
        this.log.info({ reason: 'name_changed' }, 'refresh refused');
        invalid(TOKEN_NAME_CHANGED);
        return;
      }
      this.user = verified.user;
      this.log.debug({ expiresAt: verified.user.expiresAt }, 'token refreshed');
      // The hub leaves rooms the new token forbids, then answers, in turn with the member's other commands.
      this.context.hub.receive(this, { ok: true, command: { type: 'refresh', token, ...withRef(ref) } });
    });
  }
}

/**
 * The socket listeners, shared by every connection: ws calls them with the socket
 * as `this`, which leads to its Connection. No closure per connection.
 */
const CONNECTION = Symbol('connection');

type TaggedSocket = WebSocket & { [CONNECTION]?: Connection };

function connectionOf(socket: WebSocket): Connection {
  return (socket as TaggedSocket)[CONNECTION]!;
}

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this).onFrame(data as Buffer, isBinary);
}

function onSocketPong(this: WebSocket): void {
  connectionOf(this).alive();
}

function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  // ws has already started closing with the matching code (1009, 1007, 1002...).
  connectionOf(this).log.warn({ reason: err.code ?? 'SOCKET_ERROR', err: err.message }, 'closing connection on protocol error');
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  connectionOf(this).ended(code, reason);
}

import {
  ErrorCode,
  type AckFrame,
  type BroadcastEvent,
  type ClientLimits,
  type HelpFrame,
  type JoinedFrame,
  type MembersFrame,
  type RoomsFrame,
} from '@switchboard/protocol';
import { backoffDelay, type ReconnectOptions } from './backoff.js';
import { ClientError } from './client-error.js';
import { checkFrameSize, frameSizeError } from './limits.js';
import { Outbox, type Acknowledgement, type Answers, type OutboxEntry, type OutgoingKind } from './outbox.js';
import type { ProtocolCodec } from './protocol-codec.js';
import { TokenBucket } from './token-bucket.js';
import type { ConnectionState } from './transport.js';

/** Protocol v2: a frame the server refused for good (or that the client gave up on). */
export interface Rejection {
  readonly ref: string;
  readonly kind: OutgoingKind;
  readonly text: string;
  readonly error: ClientError;
}

/** The connection the sender writes to (the Transport). */
export interface SenderLink {
  readonly state: ConnectionState;
  /** The codec of the current (or latest) connection. */
  readonly codec: ProtocolCodec;
  /** Throws ClientError NOT_OPEN unless open. */
  write(frame: string): void;
}

/**
 * Protocol v2: a frame waiting for its acknowledgement (or its answer), as it
 * stands: told when it is queued, each time it is written again, and once it is overdue.
 */
export interface PendingFrame {
  readonly ref: string;
  readonly kind: OutgoingKind;
  readonly text: string;
  /** Times it was written again so far: after ackTimeoutMs without an answer, a retryable refusal, or a reconnect. */
  readonly resends: number;
  /** Queued more than ackReconnectMs ago and still not acknowledged: the client keeps trying. */
  readonly overdue: boolean;
}

export interface SenderHandlers {
  /** A frame queued, written again, or overdue (v2). */
  pending(frame: PendingFrame): void;
  acked(ack: Acknowledgement): void;
  /** Called after the frame left the outbox, so `pending` no longer counts it. */
  rejected(rejection: Rejection): void;
  /** A frame had no answer at all for ackReconnectMs after it was written on this connection: reconnect. */
  unanswered(reason: string): void;
}

export interface SenderOptions {
  readonly maxOutbox: number;
  readonly sendRetry: ReconnectOptions;
  readonly ackTimeoutMs: number;
  readonly ackReconnectMs: number;
  /** The limits until the first welcome says otherwise. */
  readonly limits: ClientLimits;
  readonly random: () => number;
}

/** Refusals that say "not now" rather than "no": the frame is sent again after a delay. */
const RETRYABLE_ERRORS: ReadonlySet<string> = new Set([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);

/** Refusals only a join gets: one without a `ref` (v1) is for the oldest join written. */
const JOIN_ERRORS: ReadonlySet<string> = new Set([ErrorCode.ROOM_INVALID, ErrorCode.ROOM_LIMIT]);

/** A direct answer to a request, and the kind of request it answers. */
export type RequestAnswer = JoinedFrame | MembersFrame | RoomsFrame | HelpFrame;

const ANSWERED_KIND = { joined: 'join', members: 'who', rooms: 'rooms', help: 'help' } as const satisfies Record<
  RequestAnswer['type'],
  OutgoingKind
>;

/**
 * Network jitter can bring frames to the server closer together than they were
 * sent. The local bucket is smaller than the server's by what the rate refills
 * in this long (at most burst - 1 frames), so such bunching, up to this long,
 * never empties the server's bucket; in ms.
 */
const JITTER_ALLOWANCE_MS = 500;

/**
 * Delivery of what the application sends, in order, paced to the server's
 * announced rate and burst (a local token bucket, so a well-behaved application
 * is never refused with RATE_LIMITED). Every frame waits in the bounded outbox
 * until it is written (v1) or, v2, until the server acknowledges it (its echo,
 * or an `ack`); a request (join, who, rooms) waits for its answer, in both
 * protocols (v1 answers carry no `ref`: each is for the oldest request of its
 * kind). A "not now" refusal sends a frame again after a backoff, and every
 * frame still waiting goes out again after each welcome.
 *
 * v2, when the server says nothing: a frame written and not answered within
 * ackTimeoutMs is written again on the same connection with the same ref (the
 * server de-duplicates refs); one with no answer at all for ackReconnectMs after
 * it was written on a connection asks for a reconnect (`unanswered`), whose
 * welcome sends it again.
 */
export class Sender {
  private readonly outbox: Outbox;
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per ref: the ack timeout of its latest write (ackTimeoutMs). */
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per ref: since its first write unanswered on this connection (ackReconnectMs). */
  private readonly silenceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per ref: since it was queued (ackReconnectMs), until it is overdue. */
  private readonly overdueTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private resent = 0;
  private current: ClientLimits;
  private bucket: TokenBucket;
  private paceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly link: SenderLink,
    private readonly handlers: SenderHandlers,
    private readonly options: SenderOptions,
  ) {
    this.outbox = new Outbox(options.maxOutbox, options.random);
    this.current = options.limits;
    this.bucket = pacing(options.limits);
  }

  /** The limits applied now: the latest welcome's (see limitsOf). */
  get limits(): ClientLimits {
    return this.current;
  }

  /** Frames not yet acknowledged (v2) or not yet written (v1, waiting for their turn). */
  get pending(): number {
    return this.outbox.size;
  }

  /** v2: frames written again so far, over the client's life (see PendingFrame.resends). */
  get resends(): number {
    return this.resent;
  }

  hasPending(kind: OutgoingKind): boolean {
    return this.outbox.hasPending(kind);
  }

  /** The frame a chat line would be sent as now, with the ref it would get. */
  frameFor(kind: OutgoingKind, text: string): string {
    const codec = this.link.codec;
    return encode(codec, kind, text, codec.acknowledges ? this.outbox.peekRef() : undefined);
  }

  /**
   * Send a chat line, a rename or a request; it goes out as soon as the pace
   * allows. v1: NOT_OPEN unless open; a line or rename resolves with undefined
   * once written. v2: NOT_OPEN only when idle or closed (it waits while
   * connecting or reconnecting); a line or rename resolves with its
   * acknowledgement. A request resolves with its answer. Either way
   * MESSAGE_TOO_BIG past the limit, and OUTBOX_FULL when maxOutbox frames already wait.
   */
  enqueue<K extends OutgoingKind>(kind: K, text: string): Promise<Answers[K]> {
    const state = this.link.state;
    if (!this.link.codec.acknowledges && state !== 'open') {
      throw new ClientError('NOT_OPEN', `Not connected (${state}); nothing was sent.`);
    }
    if (state === 'idle' || state === 'closed') {
      throw new ClientError('NOT_OPEN', `The client is ${state}; nothing was sent.`);
    }
    checkFrameSize(this.frameFor(kind, text), this.current);
    const entry = this.outbox.add(kind, text);
    if (this.link.codec.acknowledges) {
      this.overdueTimers.set(
        entry.ref,
        setTimeout(() => {
          this.overdueTimers.delete(entry.ref);
          entry.overdue = true;
          this.handlers.pending(pendingOf(entry));
        }, this.options.ackReconnectMs),
      );
      this.handlers.pending(pendingOf(entry));
    }
    this.flush();
    return entry.done;
  }

  /** A connection was welcomed: take its limits, and pace afresh (its server's bucket is full). resend() follows. */
  welcomed(limits: ClientLimits): void {
    this.current = limits;
    this.bucket = pacing(limits);
  }

  /** After a welcome: every frame not acknowledged goes out again, with its own ref. */
  resend(): void {
    for (const entry of this.outbox.list()) {
      clear(this.retryTimers, entry.ref);
      this.clearWatch(entry.ref);
      entry.state = 'unsent';
    }
    this.flush();
  }

  /**
   * The server broadcast (the echo) or had broadcast (an `ack`) the frame with
   * this ref: a chat line or rename is acknowledged. A join is settled by an
   * `ack` too (a join carried out before a reconnect, retried): with a `joined`
   * made of it. Any other pairing (the ref of a join on a presence notice) is not
   * an answer.
   */
  acknowledge(ref: string, frame: BroadcastEvent | AckFrame): void {
    const entry = this.outbox.get(ref);
    if (entry === undefined) return;
    // Servers older than rooms send no room.
    const position = { ...('room' in frame && { room: frame.room }), seq: frame.seq, epoch: frame.epoch };
    if (entry.kind === 'message' || entry.kind === 'nick') {
      const ack: Acknowledgement = { ref, kind: entry.kind, text: entry.text, ...position };
      this.settle(entry, ack);
      this.handlers.acked(ack);
    } else if (entry.kind === 'join' && frame.type === 'ack') {
      const { id, nickname, message } = frame;
      this.settle(entry, { type: 'joined', id, nickname, message, room: frame.room, seq: frame.seq, epoch: frame.epoch, ref });
    }
  }

  /**
   * A direct answer (`joined`, `members`, `rooms`): it settles the request with
   * its ref, or, without one (v1), the oldest request of its kind written.
   */
  answer(frame: RequestAnswer): void {
    const kind = ANSWERED_KIND[frame.type];
    const entry = frame.ref === undefined ? this.outbox.oldestSent(kind) : this.outbox.get(frame.ref);
    if (entry?.kind === kind) this.settle(entry, frame);
  }

  /**
   * An error frame: a retryable refusal of a frame of ours is sent again after a
   * delay (the backoff's, or the server's `retryAfterMs` if that is longer: sooner
   * would be refused again); any other fails it. False when `ref` names no frame waiting here.
   */
  refused(ref: string | undefined, code: string, message: string, retryAfterMs?: number): boolean {
    const entry = ref === undefined && JOIN_ERRORS.has(code) ? this.outbox.oldestSent('join') : this.outbox.get(ref);
    if (entry === undefined) return false;
    const retry = this.options.sendRetry;
    if (RETRYABLE_ERRORS.has(code) && entry.refusals < retry.maxAttempts) {
      // An answer: the connection works; the backoff decides when to try again.
      this.clearWatch(entry.ref);
      const delayMs = Math.max(backoffDelay(entry.refusals, retry, this.options.random), retryAfterMs ?? 0);
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
      return true;
    }
    this.reject(entry, new ClientError(code as ErrorCode, message));
    return true;
  }

  /** The client is closed for good: every frame still waiting fails with CLOSED. */
  giveUp(why: string): void {
    for (const timers of [this.retryTimers, this.ackTimers, this.silenceTimers, this.overdueTimers]) {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    }
    clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
    for (const entry of this.outbox.list()) this.reject(entry, new ClientError('CLOSED', why));
  }

  /**
   * Write, oldest first, every frame that is due, while the connection is open
   * and the pace allows; when it does not, try again once a token is there.
   */
  private flush(): void {
    if (this.link.state !== 'open') return;
    const codec = this.link.codec;
    for (const entry of this.outbox.list()) {
      if (entry.state !== 'unsent') continue;
      const frame = encode(codec, entry.kind, entry.text, entry.ref);
      // A new node may announce a smaller limit than the one the frame was queued under.
      const tooBig = frameSizeError(frame, this.current);
      if (tooBig) {
        this.reject(entry, tooBig);
        continue;
      }
      if (!this.bucket.take()) {
        this.flushLater();
        return;
      }
      try {
        this.link.write(frame);
      } catch {
        return; // closed meanwhile: the next welcome sends it
      }
      // Without acknowledgements a line or rename is done once written; a request still waits for its answer.
      if (codec.acknowledges) this.sent(entry);
      else if (!isBroadcastKind(entry.kind)) entry.state = 'sent';
      else {
        this.outbox.written(entry);
        this.forget(entry.ref);
      }
    }
  }

  /** v2: written; counted when it is a resend, and watched for its answer. */
  private sent(entry: OutboxEntry): void {
    entry.state = 'sent';
    entry.writes += 1;
    if (entry.writes > 1) {
      this.resent += 1;
      this.handlers.pending(pendingOf(entry));
    }
    const { ref } = entry;
    clear(this.ackTimers, ref);
    this.ackTimers.set(
      ref,
      setTimeout(() => {
        this.ackTimers.delete(ref);
        if (this.outbox.get(ref) !== entry || entry.state !== 'sent' || this.link.state !== 'open') return;
        entry.state = 'unsent';
        this.flush();
      }, this.options.ackTimeoutMs),
    );
    if (this.silenceTimers.has(ref)) return;
    this.silenceTimers.set(
      ref,
      setTimeout(() => {
        this.silenceTimers.delete(ref);
        if (this.outbox.get(ref) !== entry || this.link.state !== 'open') return;
        this.handlers.unanswered(`no answer to ${ref} within ${this.options.ackReconnectMs} ms`);
      }, this.options.ackReconnectMs),
    );
  }

  private flushLater(): void {
    if (this.paceTimer !== undefined) return;
    this.paceTimer = setTimeout(
      () => {
        this.paceTimer = undefined;
        this.flush();
      },
      Math.max(1, this.bucket.waitMs()),
    );
  }

  private settle(entry: OutboxEntry, answer: Answers[OutgoingKind]): void {
    this.outbox.settle(entry, answer);
    this.forget(entry.ref);
  }

  private reject(entry: OutboxEntry, error: ClientError): void {
    this.outbox.fail(entry, error);
    this.forget(entry.ref);
    this.handlers.rejected({ ref: entry.ref, kind: entry.kind, text: entry.text, error });
  }

  /** Stop waiting for an answer on this connection (an answer came, or a new connection starts afresh). */
  private clearWatch(ref: string): void {
    clear(this.ackTimers, ref);
    clear(this.silenceTimers, ref);
  }

  /** The frame left the outbox: none of its timers matters any more. */
  private forget(ref: string): void {
    clear(this.retryTimers, ref);
    clear(this.overdueTimers, ref);
    this.clearWatch(ref);
  }
}

function clear(timers: Map<string, ReturnType<typeof setTimeout>>, ref: string): void {
  clearTimeout(timers.get(ref));
  timers.delete(ref);
}

function pendingOf(entry: OutboxEntry): PendingFrame {
  return { ref: entry.ref, kind: entry.kind, text: entry.text, resends: Math.max(0, entry.writes - 1), overdue: entry.overdue };
}

/** The local bucket for a connection with these limits (see JITTER_ALLOWANCE_MS). */
function pacing(limits: ClientLimits): TokenBucket {
  const rate = limits.messageRatePerSec;
  const reserve = Math.min(limits.messageBurst - 1, Math.ceil((rate * JITTER_ALLOWANCE_MS) / 1000));
  return new TokenBucket(rate, Math.max(1, limits.messageBurst - reserve));
}

function encode(codec: ProtocolCodec, kind: OutgoingKind, text: string, ref?: string): string {
  switch (kind) {
    case 'message':
      return codec.encodeMessage(text, ref);
    case 'nick':
      return codec.encodeNick(text, ref);
    case 'join':
      return codec.encodeJoin(text, ref);
    case 'who':
      return codec.encodeWho(ref);
    case 'rooms':
      return codec.encodeRooms(ref);
    case 'help':
      return codec.encodeHelp(ref);
  }
}

function isBroadcastKind(kind: OutgoingKind): kind is 'message' | 'nick' {
  return kind === 'message' || kind === 'nick';
}

import { ErrorCode } from '@switchboard/protocol';
import { backoffDelay, type ReconnectOptions } from './backoff.js';
import { ClientError } from './client-error.js';
import { checkFrameSize } from './local-checks.js';
import { Outbox, type Acknowledgement, type OutboxEntry, type OutgoingKind } from './outbox.js';
import type { ProtocolCodec } from './protocol-codec.js';
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

export interface SenderHandlers {
  acked(ack: Acknowledgement): void;
  /** Called after the frame left the outbox, so `pending` no longer counts it. */
  rejected(rejection: Rejection): void;
}

export interface SenderOptions {
  readonly maxOutbox: number;
  readonly sendRetry: ReconnectOptions;
  readonly maxMessageBytes: number;
  readonly random: () => number;
}

/** Refusals that say "not now" rather than "no": the frame is sent again after a delay. */
const RETRYABLE_ERRORS: ReadonlySet<string> = new Set([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);

/**
 * Delivery of what the application sends. v2: every frame waits in the bounded
 * outbox, with its ref, until the server acknowledges it (its echo, or an `ack`);
 * a "not now" refusal sends it again after a backoff, and every frame still
 * waiting goes out again after each welcome. v1: written at once, or refused.
 */
export class Sender {
  private readonly outbox: Outbox;
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly link: SenderLink,
    private readonly handlers: SenderHandlers,
    private readonly options: SenderOptions,
  ) {
    this.outbox = new Outbox(options.maxOutbox, options.random);
  }

  /** Frames sent and not acknowledged yet. */
  get pending(): number {
    return this.outbox.size;
  }

  hasPending(kind: OutgoingKind): boolean {
    return this.outbox.hasPending(kind);
  }

  /**
   * Send a chat line or a rename. v1: written now (NOT_OPEN unless open), resolves
   * with undefined. v2: queued (NOT_OPEN only when idle or closed, OUTBOX_FULL),
   * resolves with its acknowledgement. MESSAGE_TOO_BIG either way.
   */
  enqueue(kind: OutgoingKind, text: string): Promise<Acknowledgement | undefined> {
    const codec = this.link.codec;
    if (!codec.acknowledges) {
      this.write(encode(codec, kind, text));
      return Promise.resolve(undefined);
    }
    const state = this.link.state;
    if (state === 'idle' || state === 'closed') {
      throw new ClientError('NOT_OPEN', `The client is ${state}; nothing was sent.`);
    }
    checkFrameSize(encode(codec, kind, text, this.outbox.peekRef()), this.options.maxMessageBytes);
    const entry = this.outbox.add(kind, text);
    this.flush();
    return entry.done;
  }

  /** Write every frame of the outbox that is due, if the connection is open. */
  flush(): void {
    if (this.link.state !== 'open') return;
    const codec = this.link.codec;
    for (const entry of this.outbox.list()) {
      if (entry.state !== 'unsent') continue;
      try {
        this.write(encode(codec, entry.kind, entry.text, entry.ref));
      } catch (err) {
        if (!(err instanceof ClientError) || err.code !== 'MESSAGE_TOO_BIG') return; // closed meanwhile: the next welcome sends it
        this.reject(entry, err);
        continue;
      }
      if (codec.acknowledges) entry.state = 'sent';
      else this.outbox.written(entry);
    }
  }

  /** After a welcome: every frame not acknowledged goes out again, with its own ref. */
  resend(): void {
    for (const entry of this.outbox.list()) {
      this.clearRetry(entry.ref);
      entry.state = 'unsent';
    }
    this.flush();
  }

  /** The server broadcast (or had broadcast) the frame with this ref at `position`. */
  acknowledge(ref: string, position: Pick<Acknowledgement, 'seq' | 'epoch'>): void {
    const entry = this.outbox.settle(ref, position);
    if (entry === undefined) return;
    this.clearRetry(ref);
    this.handlers.acked({ ref, kind: entry.kind, text: entry.text, seq: position.seq, epoch: position.epoch });
  }

  /**
   * An error frame: a retryable refusal of a frame of ours is sent again after a
   * delay; any other fails it. False when `ref` names no frame waiting here.
   */
  refused(ref: string | undefined, code: string, message: string): boolean {
    const entry = this.outbox.get(ref);
    if (entry === undefined) return false;
    const retry = this.options.sendRetry;
    if (RETRYABLE_ERRORS.has(code) && entry.refusals < retry.maxAttempts) {
      const delayMs = backoffDelay(entry.refusals, retry, this.options.random);
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
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const entry of this.outbox.list()) this.reject(entry, new ClientError('CLOSED', why));
  }

  private write(frame: string): void {
    checkFrameSize(frame, this.options.maxMessageBytes);
    this.link.write(frame);
  }

  private reject(entry: OutboxEntry, error: ClientError): void {
    this.outbox.fail(entry, error);
    this.handlers.rejected({ ref: entry.ref, kind: entry.kind, text: entry.text, error });
  }

  private clearRetry(ref: string): void {
    clearTimeout(this.retryTimers.get(ref));
    this.retryTimers.delete(ref);
  }
}

function encode(codec: ProtocolCodec, kind: OutgoingKind, text: string, ref?: string): string {
  return kind === 'nick' ? codec.encodeNick(text, ref) : codec.encodeMessage(text, ref);
}

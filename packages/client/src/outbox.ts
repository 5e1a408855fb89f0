import type { Epoch, HelpFrame, JoinedFrame, MembersFrame, RoomName, RoomsFrame, Seq } from '@switchboard/protocol';
import { ClientError } from './client-error.js';

/**
 * What a frame in the outbox asks for: a chat line or a rename (broadcast: settled
 * by their echo), or a request the server answers to this client alone (a join,
 * `who`, `rooms`, `help`: settled by its answer).
 */
export type OutgoingKind = 'message' | 'nick' | 'join' | 'who' | 'rooms' | 'help';

/** The kinds that are broadcast, and acknowledged by their echo. */
export type BroadcastKind = 'message' | 'nick';

/** A frame the server acknowledged: its echo (or an `ack`) stands at `seq`. */
export interface Acknowledgement {
  readonly ref: string;
  readonly kind: BroadcastKind;
  /** The chat line, or the new nickname. */
  readonly text: string;
  /** The room it was broadcast in (absent from servers without rooms). */
  readonly room?: RoomName;
  readonly seq: Seq;
  readonly epoch: Epoch;
}

/**
 * What each kind of frame settles with: a chat line or a rename with its
 * acknowledgement (v2; undefined once written in v1), a request with its answer.
 */
export interface Answers {
  readonly message: Acknowledgement | undefined;
  readonly nick: Acknowledgement | undefined;
  readonly join: JoinedFrame;
  readonly who: MembersFrame;
  readonly rooms: RoomsFrame;
  readonly help: HelpFrame;
}

export type Answer = Answers[OutgoingKind];

/**
 * One frame waiting for its acknowledgement.
 * - `unsent`: to be written at the next chance (connection open);
 * - `sent`: written on the current or an earlier connection, not acknowledged yet;
 * - `backoff`: refused with a retryable error, waiting out its delay.
 */
export interface OutboxEntry {
  readonly ref: string;
  readonly kind: OutgoingKind;
  readonly text: string;
  state: 'unsent' | 'sent' | 'backoff';
  /** Retryable refusals so far. */
  refusals: number;
  /** Times written so far (v2): each one past the first is a resend. */
  writes: number;
  /** Queued longer ago than ackReconnectMs and not acknowledged yet. */
  overdue: boolean;
  readonly done: Promise<Answer>;
  resolve(answer: Answer): void;
  reject(error: ClientError): void;
}

/**
 * The frames sent and not yet acknowledged, in the order they were sent, each
 * with a `ref` unique to this client (a random prefix and a counter). Bounded:
 * past `capacity` frames, add() throws OUTBOX_FULL and nothing is queued.
 */
export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  private readonly prefix: string;
  private counter = 0;

  constructor(
    readonly capacity: number,
    random: () => number = Math.random,
  ) {
    this.prefix = refPrefix(random);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Every waiting frame, oldest first. */
  list(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  get(ref: string | undefined): OutboxEntry | undefined {
    return ref === undefined ? undefined : this.entries.get(ref);
  }

  /** Whether a frame of this kind is waiting (a rename for its acknowledgement, a join for its answer...). */
  hasPending(kind: OutgoingKind): boolean {
    return this.list().some((e) => e.kind === kind);
  }

  /** The oldest frame of `kind` written and not settled: the one an answer without a `ref` (v1) is for. */
  oldestSent(kind: OutgoingKind): OutboxEntry | undefined {
    return this.list().find((e) => e.kind === kind && e.state === 'sent');
  }

  /** The next ref, without queuing anything (to measure a frame before adding it). */
  peekRef(): string {
    return `${this.prefix}-${this.counter + 1}`;
  }

  /**
   * Queue a frame; throws ClientError OUTBOX_FULL when `capacity` frames already
   * wait. Its promise settles with Answers[kind] (see settle()).
   */
  add<K extends OutgoingKind>(kind: K, text: string): OutboxEntry & { readonly done: Promise<Answers[K]> } {
    if (this.entries.size >= this.capacity) {
      throw new ClientError('OUTBOX_FULL', `${this.capacity} frames already wait for the server; nothing was sent.`);
    }
    this.counter += 1;
    const ref = `${this.prefix}-${this.counter}`;
    let resolve!: OutboxEntry['resolve'];
    let reject!: OutboxEntry['reject'];
    const done = new Promise<Answer>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that ignores the result must not get an unhandled rejection.
    done.catch(() => undefined);
    const entry: OutboxEntry = { ref, kind, text, state: 'unsent', refusals: 0, writes: 0, overdue: false, done, resolve, reject };
    this.entries.set(ref, entry);
    // The caller settles it with the answer of its kind (the Sender checks which answer fits which kind).
    return entry as OutboxEntry & { readonly done: Promise<Answers[K]> };
  }

  /** Acknowledged or answered: resolve its promise with `answer` (Answers[entry.kind]) and forget it. */
  settle(entry: OutboxEntry, answer: Answer): void {
    this.entries.delete(entry.ref);
    entry.resolve(answer);
  }

  /** Written where nothing acknowledges (protocol v1): done once written. */
  written(entry: OutboxEntry): void {
    this.entries.delete(entry.ref);
    entry.resolve(undefined);
  }

  /** Refused for good: reject its promise and forget it. */
  fail(entry: OutboxEntry, error: ClientError): void {
    this.entries.delete(entry.ref);
    entry.reject(error);
  }
}

/** Eight random base-36 characters: refs of two clients never meet by chance. */
function refPrefix(random: () => number): string {
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  const words = new Uint32Array(2);
  if (crypto?.getRandomValues) crypto.getRandomValues(words);
  else for (let i = 0; i < words.length; i += 1) words[i] = Math.floor(random() * 2 ** 32);
  return Array.from(words, (w) => w.toString(36).padStart(7, '0').slice(-4)).join('');
}

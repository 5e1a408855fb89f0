import { createHash } from 'node:crypto';

/** An Idempotency-Key: 1 to 255 visible ASCII characters (as Stripe's API and the IETF draft take them). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** Whether a header value can be an Idempotency-Key. */
export function isIdempotencyKey(value: string): boolean {
  return KEY.test(value);
}

/**
 * The bus's `once` key for an Idempotency-Key: a digest, so the key itself is
 * never stored in Redis. The bus gives a `once` key its place in a room
 * atomically with publishing the event (one script), so two nodes given the same
 * key at the same time publish one line, and both learn its seq.
 */
export function onceKeyOf(key: string): string {
  return `api:${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
}

/**
 * This node's first answers to Idempotency-Keys, each kept `ttlMs`: a retry to
 * this node gets the first answer itself (even one asking for another room), and
 * retries that come while the first is under way share it. A failed first
 * attempt is not kept (the retry tries again). Retries to other nodes are
 * answered by the bus (onceKeyOf). At most `maxKeys` are kept: past it the
 * oldest go first (the bus still knows them).
 */
export class IdempotentAnswers<T> {
  private readonly answers = new Map<string, { readonly answer: Promise<T>; readonly until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The first answer for `key` while it is kept, else the answer `work` gives (kept if it succeeds). */
  answer(key: string, work: () => Promise<T>): Promise<T> {
    const now = this.now();
    const held = this.answers.get(key);
    if (held !== undefined && held.until > now) return held.answer;
    this.answers.delete(key);
    const answer = work();
    const entry = { answer, until: now + this.ttlMs };
    this.answers.set(key, entry);
    answer.catch(() => {
      if (this.answers.get(key) === entry) this.answers.delete(key);
    });
    for (const [old, { until }] of this.answers) {
      if (this.answers.size <= this.maxKeys && until > now) break;
      this.answers.delete(old);
    }
    return answer;
  }

  get size(): number {
    return this.answers.size;
  }
}

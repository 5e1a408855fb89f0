import { createHash, timingSafeEqual } from 'node:crypto';

/** A key's SHA-256: every digest has the same length, so comparing two never tells a key's length. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The backend API's keys (API_KEY, several during a rotation). A request's
 * `Authorization: Bearer KEY` is compared with each of them in constant time
 * (timingSafeEqual on their digests), every one of them every time, so how
 * long a refusal takes tells nothing of the keys.
 */
export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** Whether an `Authorization` header carries one of the keys. */
  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    const offered = digest(match?.[1] ?? '');
    let accepted = false;
    for (const key of this.digests) accepted = timingSafeEqual(key, offered) || accepted;
    return accepted && match !== null;
  }
}

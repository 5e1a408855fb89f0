/** Numbers asked for on one turn, and how to answer each. */
interface Waiting {
  readonly resolve: (number: number) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Default-nickname numbers (Bus.nextGuestNumber) taken from a counter shared by
 * the cluster, one round trip for every caller waiting: the first asks for one
 * at once; those that ask while it is on its way are answered together by the
 * next, which raises the counter by how many they are (INCRBY) and hands out the
 * numbers it skipped, in the order they asked. Numbers stay unique across the
 * cluster and none is lost; in a join storm, a node pays one round trip per
 * batch instead of one per join.
 */
export class GuestNumbers {
  private waiting: Waiting[] = [];
  private asking = false;

  /** `raise(n)`: add n to the shared counter and answer its new value (rejects when it cannot). */
  constructor(private readonly raise: (by: number) => Promise<number>) {}

  next(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.asking) void this.ask();
    });
  }

  private async ask(): Promise<void> {
    this.asking = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        const last = await this.raise(batch.length);
        batch.forEach((caller, i) => caller.resolve(last - batch.length + 1 + i));
      } catch (err) {
        for (const caller of batch) caller.reject(err as Error);
      }
    }
    this.asking = false;
  }
}

/**
 * Something the page does by itself, at a bounded rate: asked for at any
 * moment, it runs at once when the last run was at least `minMs` ago, else once
 * when that time has passed (asks meanwhile share that one run).
 */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly minMs: number,
    private readonly run: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Run now, or once the bound allows; a run already waiting covers this ask too. */
  request(): void {
    if (this.timer !== undefined) return;
    const wait = this.last + this.minMs - this.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => this.fire(), wait);
  }

  /** It was done anyway (a person asked): the next run by itself waits from now, and one waiting is dropped. */
  ran(): void {
    this.last = this.now();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.last = this.now();
    this.run();
  }
}

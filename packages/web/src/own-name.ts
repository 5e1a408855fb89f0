import { ErrorCode, RESUME_GRACE_MS, validateNickname } from '@switchboard/protocol';
import type { KeyValueStore } from './storage.js';

/**
 * The key of the name, in both stores: the tab's own name in sessionStorage,
 * the last name chosen in this browser in localStorage.
 */
export const NAME_KEY = 'switchboard.nickname';

/**
 * Past the grace window (RESUME_GRACE_MS), how much longer the page waits
 * before it asks for its name again: a node notices an ended grace within its
 * sweep interval (1 s by default); in ms.
 */
export const RETRY_MARGIN_MS = 3_000;

/** What the page does with a refused rename: show it (the person asked), say once that the name is taken elsewhere, or nothing. */
export type Refusal = 'shown' | 'say' | 'quiet';

/**
 * The name of one tab. Each tab is its own session with its own name (kept in
 * the tab's sessionStorage, so a reload that cannot resume asks for it again);
 * the name last chosen in this browser (localStorage) is only the first
 * suggestion for a new tab. A second window of the same browser thus asks for
 * the first one's name: when it is taken, that is not something its person did,
 * so nothing is shown as an error. The name may be held by another tab, or by
 * this tab's previous session until its grace window ends (a reload whose
 * resume failed): it is asked for once more when that window has passed, or at
 * once when the room hears its holder go.
 */
export class OwnName {
  /** The name this tab asks for when it starts a session: its own, else the one remembered in the browser. */
  readonly wanted: string | undefined;
  /** Names the person asked for in this page (the field, or /nick): their refusals are theirs to see. */
  private readonly chosen = new Set<string>();
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retried = false;
  private said = false;

  constructor(
    private readonly stores: { readonly tab: KeyValueStore | undefined; readonly browser: KeyValueStore | undefined },
    /** Ask the server for a name (the SDK's setNick). */
    private readonly ask: (name: string) => void,
    private readonly retryAfterMs = RESUME_GRACE_MS + RETRY_MARGIN_MS,
  ) {
    this.wanted = readName(stores.tab) ?? readName(stores.browser);
  }

  /** The person asked for `name`: its refusal is shown, and the remembered name is no longer asked for again. */
  choose(name: string): void {
    this.chosen.add(name);
    this.stopRetry();
  }

  /**
   * A rename to `name` was refused with `code`. The page's own asking for its
   * name (not the person's) is quiet: `say` the first time (that the name is
   * in use elsewhere), and a taken name is asked for once more later.
   */
  refused(name: string, code: string): Refusal {
    if (name !== this.wanted || this.chosen.has(name)) return 'shown';
    if (code === ErrorCode.NICK_TAKEN && !this.retried && this.retry === undefined) {
      this.retry = setTimeout(() => this.askAgain(), this.retryAfterMs);
    }
    if (this.said) return 'quiet';
    this.said = true;
    return 'say';
  }

  /** Someone the room heard go, or rename away, was called `name`: if it is the name waited for, ask now. */
  released(name: string): void {
    if (this.retry === undefined || this.wanted === undefined || !sameName(name, this.wanted)) return;
    this.stopRetry();
    this.askAgain();
  }

  /** The server confirmed this tab's own name: kept for the tab, and for new tabs, when the page or the person asked for it. */
  confirmed(name: string): void {
    if (name === this.wanted || this.chosen.has(name)) {
      this.stopRetry();
      writeName(this.stores.tab, name);
      writeName(this.stores.browser, name);
    }
  }

  private askAgain(): void {
    this.retry = undefined;
    this.retried = true;
    if (this.wanted !== undefined) this.ask(this.wanted);
  }

  private stopRetry(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }
}

function readName(store: KeyValueStore | undefined): string | undefined {
  try {
    const name = store?.getItem(NAME_KEY) ?? undefined;
    return name !== undefined && !validateNickname(name) && !/\s/u.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

function writeName(store: KeyValueStore | undefined, name: string): void {
  try {
    store?.setItem(NAME_KEY, name);
  } catch {
    // Storage may be off (private mode): the name then lasts for this page only.
  }
}

/** Whether two names are the one the registry would hold for either (case aside; look-alikes are the gateway's to judge). */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

import { httpGet, type GatewayProcess } from '@switchboard/testkit';
import type { Probe } from './chaos-probe.js';

/** How often each gateway's /readyz is asked while a failover scenario runs, in ms. */
export const READINESS_POLL_MS = 100;

/** One change of a gateway's /readyz answer. */
export interface ReadinessChange {
  readonly at: number;
  readonly node: string;
  /** HTTP status, or 0 when the gateway did not answer. */
  readonly status: number;
  readonly body: string;
}

/**
 * Asks every gateway's /readyz every READINESS_POLL_MS and keeps the changes
 * (the first answer of each counts as one), until stop().
 */
export class ReadinessWatch {
  readonly changes: ReadinessChange[] = [];
  private readonly last = new Map<string, number>();
  private running = true;
  private readonly loops: Array<Promise<void>>;

  constructor(gateways: readonly GatewayProcess[]) {
    this.loops = gateways.map((g) => this.poll(g));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Whether any gateway said 503 at or after `since`. */
  wentNotReady(since: number): boolean {
    return this.changes.some((c) => c.at >= since && c.status === 503);
  }

  /** The last answer of each gateway. */
  latest(): Map<string, number> {
    return new Map(this.last);
  }

  /** The changes, one line each, times relative to `origin`. */
  describe(origin: number): string[] {
    return this.changes.map(
      (c) => `${((c.at - origin) / 1000).toFixed(2).padStart(6)}s ${c.node} /readyz ${c.status || 'no answer'} ${c.body.slice(0, 160)}`,
    );
  }

  private async poll(gateway: GatewayProcess): Promise<void> {
    const node = gateway.nodeId;
    while (this.running) {
      const answer = await httpGet(`${gateway.httpUrl}/readyz`, { timeoutMs: 1_000 }).catch(() => ({ status: 0, body: '' }));
      if (this.last.get(node) !== answer.status) {
        this.last.set(node, answer.status);
        this.changes.push({ at: Date.now(), node, status: answer.status, body: answer.body.replace(/\s+/g, ' ') });
      }
      await new Promise((resolve) => setTimeout(resolve, READINESS_POLL_MS));
    }
  }
}

/** The longest pause in a room's deliveries, by its worst client. */
export interface Stall {
  readonly ms: number;
  /** The client it was measured on, and when it began (ms after `from`). */
  readonly client: number;
  readonly beganAfterMs: number;
  /** Whether the client delivered nothing at all after `from`. */
  readonly silent: boolean;
}

/**
 * The longest time between two consecutive deliveries of any client of `group`
 * that ends after `from` (a pause already under way at `from` counts whole) and
 * begins before `to`; a client that delivered nothing after `from` stalls until
 * `to`. With `within`, only pauses that begin and end between `from` and `to`
 * count (a baseline before a fault).
 */
export function longestStall(group: readonly Probe[], from: number, to: number, within = false): Stall {
  let worst: Stall = { ms: 0, client: -1, beganAfterMs: 0, silent: false };
  for (const p of group) {
    const times = p.delivered.items.map((d) => d.at);
    let previous: number | undefined;
    for (const at of times) {
      const counts = within ? previous !== undefined && previous >= from && at <= to : at >= from && (previous ?? Infinity) <= to;
      if (previous !== undefined && counts && at - previous > worst.ms) {
        worst = { ms: at - previous, client: p.index, beganAfterMs: previous - from, silent: false };
      }
      previous = at;
    }
    const last = times.at(-1);
    if (!within && last !== undefined && last < to && to - last > worst.ms) {
      worst = { ms: to - last, client: p.index, beganAfterMs: last - from, silent: !times.some((at) => at >= from) };
    }
  }
  return worst;
}

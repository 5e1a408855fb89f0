import { nowUs } from '../generator/line.js';
import type { Stats } from '../generator/load-generator.js';

/** A drain (the wait for what was sent to arrive) ends when nothing arrived for this long, ms. */
export const DRAIN_QUIET_MS = 3_000;

/** Whether deliveries were still coming when the drain ended short of `expected`: the missing ones are late, perhaps not lost. */
export function stillArriving(stats: Pick<Stats, 'received' | 'lastUs'>, expected: number): boolean {
  return stats.received < expected && nowUs() - stats.lastUs < DRAIN_QUIET_MS * 1000;
}

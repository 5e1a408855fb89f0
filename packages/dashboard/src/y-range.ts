/** Steps of a scale's top within a power of ten: the top is the first of these times 10^k that is at or above the need. */
const STEPS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** Room left above the highest value, as a share of it, so a spike's tip and its line width are drawn whole. */
export const HEADROOM = 0.08;

/**
 * The y range of a plot for values from `min` to `max` (null: no values): from 0
 * (or below it, for a negative value) to above the highest value by HEADROOM,
 * rounded up to a round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
 * power of ten) so that the top gridline is labelled and every spike is under it.
 * The top is at least 1, so a flat zero still draws a scale.
 */
export function yRange(min: number | null, max: number | null): [number, number] {
  const low = Math.min(0, min ?? 0);
  const need = Math.max(0, max ?? 0) * (1 + HEADROOM);
  return [low, Math.max(1, roundUp(need))];
}

function roundUp(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 0;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of STEPS) {
    const top = step * power;
    // Rounded to drop float noise (1.2 * 100 is 120.00000000000001).
    if (top >= value) return Number(top.toPrecision(12));
  }
  return 10 * power;
}

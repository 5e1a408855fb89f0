/**
 * Several rounds of one fan-out measurement (every system in turn, then again):
 * on a shared 2-core machine the same code moves by 20-30 % from one run to the
 * next, so one round decides little. Each system's figures are summed up as the
 * median and the range over the rounds, and its CPU is compared to the reference
 * system's within each round (the machine's drift hits both alike) before the
 * median of those ratios is taken.
 */

/** One system's figures in one round. */
export interface RoundFigures {
  readonly system: string;
  /** Server CPU-seconds per million deliveries. */
  readonly cpuPerMillion: number;
  readonly p99Ms: number;
  readonly lost: number;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface RoundsSummary {
  readonly system: string;
  readonly rounds: number;
  readonly cpuPerMillion: Spread;
  /** CPU per delivery over the reference's in the same round; undefined without a reference. */
  readonly ratio: Spread | undefined;
  readonly p99Ms: Spread;
  readonly lost: number;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The median and range of `values`. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Each system of the rounds (a round lists what measured; a system missing
 * from a round failed there), against `isReference` in the same round.
 */
export function summarizeRounds(rounds: ReadonlyArray<readonly RoundFigures[]>, isReference: (system: string) => boolean): RoundsSummary[] {
  const systems = [...new Set(rounds.flatMap((round) => round.map((f) => f.system)))];
  return systems.map((system) => {
    const mine: RoundFigures[] = [];
    const ratios: number[] = [];
    for (const round of rounds) {
      const own = round.find((f) => f.system === system);
      if (!own) continue;
      mine.push(own);
      const reference = round.find((f) => isReference(f.system));
      if (reference) ratios.push(own.cpuPerMillion / reference.cpuPerMillion);
    }
    return {
      system,
      rounds: mine.length,
      cpuPerMillion: spread(mine.map((f) => f.cpuPerMillion)),
      ratio: ratios.length > 0 ? spread(ratios) : undefined,
      p99Ms: spread(mine.map((f) => f.p99Ms)),
      lost: mine.reduce((sum, f) => sum + f.lost, 0),
    };
  });
}

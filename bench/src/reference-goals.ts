/**
 * Issue 24's goals, read off a run: each Switchboard row of a scenario against
 * each reference system measured in the same run (Socket.IO and nginx + nchan
 * for one big room, Socket.IO's sharded adapter for rooms), as the ratio of their
 * server CPU per delivery (nodes + Redis, CPU-seconds per million deliveries)
 * with the p99 latencies beside it, and whether this one run is within the goal.
 * One run on a shared machine decides nothing: over rounds (--rounds) the
 * ratios' medians and ranges, and in how many rounds the goal held.
 */
import type { SystemId } from './options.js';
import { spread, type Spread } from './rounds.js';

export interface ReferenceGoal {
  readonly reference: SystemId;
  /** Switchboard's server CPU per delivery over the reference's, at most. */
  readonly maxCpuRatio: number;
  /** Switchboard's p99 at most the reference's plus this, ms; undefined: no latency goal. */
  readonly p99SlackMs?: number;
}

/** The scenarios with reference systems, and their goals (besides 0 lost and, in rooms, 0 strays). */
export const REFERENCE_GOALS = {
  fanout: [
    { reference: 'socketio', maxCpuRatio: 0.5 },
    { reference: 'nchan', maxCpuRatio: 1, p99SlackMs: 2 },
  ],
  rooms: [{ reference: 'socketio-cluster', maxCpuRatio: 0.5, p99SlackMs: 0 }],
} as const satisfies Readonly<Record<string, readonly ReferenceGoal[]>>;

/** One system's figures in one measurement... */
export interface CostFigures {
  readonly id: string;
  readonly system: string;
  /** Server CPU-seconds (nodes + Redis) per million deliveries. */
  readonly cpuPerMillion: number;
  readonly p99Ms: number;
  readonly lost: number;
  /** Lines that reached another room (rooms only). */
  readonly strays?: number;
}

/** ...or why there are none. */
export interface NotMeasured {
  readonly id: string;
  readonly system: string;
  readonly error: string;
}

export interface Comparison {
  /** Switchboard's row. */
  readonly system: string;
  readonly goal: ReferenceGoal;
  /** The reference's name, or its id when it has no row. */
  readonly reference: string;
  /** Why the reference (or Switchboard's row) has no figures; then nothing below is set. */
  readonly unmeasured?: string;
  readonly cpuPerMillion?: number;
  readonly referenceCpuPerMillion?: number;
  /** Switchboard's CPU per delivery over the reference's. */
  readonly cpuRatio?: number;
  readonly p99Ms?: number;
  readonly referenceP99Ms?: number;
  /** What missed the goal in this run (`CPU 0.62x > 0.50x`, `p99 +12.0 ms`, `3 lost`); empty when it held. */
  readonly misses?: readonly string[];
}

/** Whether a row is Switchboard's (as it is, on a Redis Cluster, or changed for an A/B). */
const isSwitchboard = (id: string) => id.startsWith('switchboard');

/** Every Switchboard row against every goal's reference in `rows` (one measurement of one scenario). */
export function compareWithReferences(rows: ReadonlyArray<CostFigures | NotMeasured>, goals: readonly ReferenceGoal[]): Comparison[] {
  return rows
    .filter((row) => isSwitchboard(row.id))
    .flatMap((ours) =>
      goals.map((goal): Comparison => {
        const reference = rows.find((row) => row.id === goal.reference);
        const name = reference?.system ?? goal.reference;
        if (reference === undefined) return { system: ours.system, goal, reference: name, unmeasured: 'not in this run' };
        if ('error' in reference) return { system: ours.system, goal, reference: name, unmeasured: reference.error };
        if ('error' in ours) return { system: ours.system, goal, reference: name, unmeasured: ours.error };
        const cpuRatio = ours.cpuPerMillion / reference.cpuPerMillion;
        const misses: string[] = [];
        if (!(cpuRatio <= goal.maxCpuRatio)) misses.push(`CPU ${cpuRatio.toFixed(2)}x > ${goal.maxCpuRatio.toFixed(2)}x`);
        if (goal.p99SlackMs !== undefined && !(ours.p99Ms <= reference.p99Ms + goal.p99SlackMs))
          misses.push(`p99 +${(ours.p99Ms - reference.p99Ms).toFixed(1)} ms`);
        if (ours.lost > 0) misses.push(`${ours.lost} lost`);
        if ((ours.strays ?? 0) > 0) misses.push(`${ours.strays} strays`);
        return {
          system: ours.system,
          goal,
          reference: name,
          cpuPerMillion: ours.cpuPerMillion,
          referenceCpuPerMillion: reference.cpuPerMillion,
          cpuRatio,
          p99Ms: ours.p99Ms,
          referenceP99Ms: reference.p99Ms,
          misses,
        };
      }),
    );
}

/** A goal in words: `CPU <= 0.50x, p99 <= theirs + 2 ms, 0 lost`. */
export function goalText(goal: ReferenceGoal, rooms: boolean): string {
  const p99 = goal.p99SlackMs === undefined ? '' : `, p99 <= theirs${goal.p99SlackMs > 0 ? ` + ${goal.p99SlackMs} ms` : ''}`;
  return `CPU <= ${goal.maxCpuRatio.toFixed(2)}x${p99}, 0 lost${rooms ? ', 0 strays' : ''}`;
}

/** One Switchboard row against one reference over several rounds. */
export interface ComparisonSummary {
  readonly system: string;
  readonly reference: string;
  readonly goal: ReferenceGoal;
  /** Rounds where both were measured. */
  readonly rounds: number;
  readonly cpuRatio: Spread | undefined;
  readonly p99Ms: Spread | undefined;
  readonly referenceP99Ms: Spread | undefined;
  /** Rounds in which the goal held. */
  readonly met: number;
}

/** Each round's comparisons (compareWithReferences) summed up per Switchboard row and reference: medians and ranges. */
export function summarizeComparisons(rounds: ReadonlyArray<readonly Comparison[]>): ComparisonSummary[] {
  const pairs = new Map<string, Comparison[]>();
  for (const round of rounds)
    for (const c of round) {
      const key = `${c.system}\u0000${c.goal.reference}`;
      pairs.set(key, [...(pairs.get(key) ?? []), c]);
    }
  return [...pairs.values()].map((all) => {
    const measured = all.filter((c) => c.unmeasured === undefined);
    const of = (pick: (c: Comparison) => number | undefined) => (measured.length ? spread(measured.map((c) => pick(c)!)) : undefined);
    const first = measured[0] ?? all[0]!;
    return {
      system: first.system,
      reference: first.reference,
      goal: first.goal,
      rounds: measured.length,
      cpuRatio: of((c) => c.cpuRatio),
      p99Ms: of((c) => c.p99Ms),
      referenceP99Ms: of((c) => c.referenceP99Ms),
      met: measured.filter((c) => c.misses!.length === 0).length,
    };
  });
}

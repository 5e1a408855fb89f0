/**
 * `npm test`'s tiers, one after the other, each printing as it does alone
 * (`npm run test:unit`...), then one total for all of them:
 *
 *   tiers: unit 312 tests (4 skipped) in 41 s · integration 150 in 3 min 2 s · clients 48 in 1 min 50 s
 *   total: 506 passed, 0 failed, 4 skipped
 *
 * A tier that fails stops the run, as `&&` would: the total then counts the
 * tiers run, says which one failed, and the exit status is that tier's.
 *
 *   node --import tsx scripts/test-total.ts unit integration clients
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

/** What node's test runner says at the end of a run (its `ℹ tests 12` ... lines). */
export interface TierSummary {
  readonly tests: number;
  readonly pass: number;
  readonly fail: number;
  readonly cancelled: number;
  readonly skipped: number;
  readonly todo: number;
  readonly durationMs: number;
}

const COUNTERS = ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'] as const;
// eslint-disable-next-line no-control-regex -- colour codes, written when the output is a terminal
const ANSI = /\x1b\[[0-9;]*m/g;
const SUMMARY_LINE = /^ℹ (tests|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;

/** Reads a tier's output, line by line, for the runner's closing counts. */
export class SummaryReader {
  private readonly counts = new Map<string, number>();

  line(text: string): void {
    const match = SUMMARY_LINE.exec(text.replace(ANSI, '').trim());
    // The last run's counts win (a tier is one run; the spec reporter prints its summary once).
    if (match) this.counts.set(match[1]!, Number(match[2]));
  }

  /** The counts read, or undefined when the output had none (the tier failed before its tests ran). */
  get summary(): TierSummary | undefined {
    if (!COUNTERS.every((name) => this.counts.has(name))) return undefined;
    const count = (name: (typeof COUNTERS)[number]) => this.counts.get(name)!;
    return {
      tests: count('tests'),
      pass: count('pass'),
      fail: count('fail'),
      cancelled: count('cancelled'),
      skipped: count('skipped'),
      todo: count('todo'),
      durationMs: count('duration_ms'),
    };
  }
}

/** The closing lines: each tier's tests and time, then `total: N passed, N failed, N skipped` (and the tier that failed). */
export function totalLines(
  tiers: ReadonlyArray<{ readonly name: string; readonly summary: TierSummary | undefined }>,
  failed?: string,
): string[] {
  const parts = tiers.map(({ name, summary }) => {
    if (summary === undefined) return `${name} (no summary)`;
    const skipped = summary.skipped + summary.todo;
    return `${name} ${summary.tests} test${summary.tests === 1 ? '' : 's'}${skipped > 0 ? ` (${skipped} skipped)` : ''} in ${duration(summary.durationMs)}`;
  });
  const sum = (pick: (s: TierSummary) => number) => tiers.reduce((total, { summary }) => total + (summary ? pick(summary) : 0), 0);
  const total = `total: ${sum((s) => s.pass)} passed, ${sum((s) => s.fail + s.cancelled)} failed, ${sum((s) => s.skipped + s.todo)} skipped`;
  return [`tiers: ${parts.join(' · ')}${failed === undefined ? '' : `; the ${failed} tier failed, the next ones did not run`}`, total];
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Run `npm run test:<tier>`, its output passed through as it comes, read for its summary; its exit status. */
async function runTier(tier: string, reader: SummaryReader): Promise<number> {
  // The tier's colours stay when this output is a terminal (the child's is a pipe).
  const env = process.stdout.isTTY && process.env.NO_COLOR === undefined ? { ...process.env, FORCE_COLOR: '1' } : process.env;
  const child = spawn('npm', ['run', `test:${tier}`], { stdio: ['inherit', 'pipe', 'inherit'], env });
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    process.stdout.write(chunk);
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) reader.line(line);
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  reader.line(rest);
  return code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
}

async function main(tiers: readonly string[]): Promise<number> {
  const done: Array<{ name: string; summary: TierSummary | undefined }> = [];
  for (const name of tiers) {
    const reader = new SummaryReader();
    const status = await runTier(name, reader);
    done.push({ name, summary: reader.summary });
    if (status !== 0) {
      process.stdout.write(`\n${totalLines(done, name).join('\n')}\n`);
      return status;
    }
  }
  process.stdout.write(`\n${totalLines(done).join('\n')}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tiers = process.argv.slice(2);
  if (tiers.length === 0) {
    process.stderr.write('usage: node --import tsx scripts/test-total.ts TIER... (each runs as npm run test:TIER)\n');
    process.exit(2);
  }
  process.exitCode = await main(tiers);
}

import type { ChaosTarget } from './chaos-target.js';
import type { Probe } from './chaos-probe.js';

/** A line a client sent, and what became of it. */
export interface Line {
  readonly client: number;
  status: 'pending' | 'acked' | 'refused';
  seq?: number;
  error?: string;
  /** When it was handed to the SDK, and when the SDK said it was acknowledged (Date.now()). */
  sentAt?: number;
  ackedAt?: number;
}

/** What went wrong, by kind, over a group of clients that share one sequence (one room). */
export interface Report {
  deliveredToAll: number;
  lost: string[];
  duplicated: string[];
  outOfOrder: string[];
  /** Seqs skipped: on a connection, in what a client delivered, or announced by the SDK's `gap` event. */
  gaps: string[];
  /** Lines acknowledged to their sender and in nobody's sequence (also in `lost`). */
  ackedLost: string[];
  /** Lines neither acknowledged nor refused when the run ended (also in `lost`). */
  neverAcked: string[];
  refused: string[];
  resumeFailures: string[];
  spuriousNotices: string[];
  epochs: string[];
  divergent: string[];
}

/**
 * What went wrong for `all`, clients that share one sequence (`epoch`, up to
 * `finalSeq`): the lines of theirs in `lines` must be in it exactly once, on every one of them.
 */
export function analyse(all: readonly Probe[], lines: ReadonlyMap<string, Line>, epoch: string, finalSeq: number): Report {
  const report: Report = {
    deliveredToAll: 0,
    lost: [],
    duplicated: [],
    outOfOrder: [],
    gaps: [],
    ackedLost: [],
    neverAcked: [],
    refused: [],
    resumeFailures: [],
    spuriousNotices: [],
    epochs: [],
    divergent: [],
  };
  // Each client's delivered sequence: one epoch, contiguous, no repeats.
  for (const p of all) {
    const items = p.delivered.items;
    const otherEpochs = new Map<string, number>();
    for (const d of items) if (d.epoch !== epoch) otherEpochs.set(d.epoch, (otherEpochs.get(d.epoch) ?? 0) + 1);
    for (const [other, count] of otherEpochs) report.epochs.push(`client ${p.index}: ${count} events in epoch ${other}, not ${epoch}`);
    items.forEach((d, i) => {
      // A new epoch starts a new sequence (reported under epochs).
      if (i === 0 || d.seq === items[i - 1]!.seq + 1 || d.epoch !== items[i - 1]!.epoch) return;
      const text = `client ${p.index} delivered seq ${d.seq} after ${items[i - 1]!.seq}`;
      (d.seq > items[i - 1]!.seq + 1 ? report.gaps : report.outOfOrder).push(text);
    });
    p.wires.forEach((w, i) =>
      w.problems.forEach((problem) =>
        (problem.startsWith('gap') ? report.gaps : problem.startsWith('epoch') ? report.epochs : report.outOfOrder).push(
          `client ${p.index} connection ${i} (${w.node}, resumed ${w.resumed}): ${problem}`,
        ),
      ),
    );
    for (const f of p.resumeFailures) report.resumeFailures.push(`client ${p.index}: ${f}`);
    for (const g of p.gaps) report.gaps.push(`client ${p.index} gap event: ${g}`);
  }
  // The same content at every seq, on every client, over the range all of them cover.
  const from = Math.max(...all.map((p) => p.delivered.items[0]?.seq ?? Infinity));
  const reference = new Map(all[0]!.delivered.items.filter((d) => d.epoch === epoch).map((d) => [d.seq, d.key]));
  for (const p of all) {
    const mine = new Map(p.delivered.items.filter((d) => d.epoch === epoch).map((d) => [d.seq, d.key]));
    for (let seq = from; seq <= finalSeq; seq++) {
      if (mine.get(seq) !== reference.get(seq)) {
        report.divergent.push(
          `client ${p.index} at seq ${seq}: ${mine.get(seq) ?? 'nothing'} vs client 0: ${reference.get(seq) ?? 'nothing'}`,
        );
        break;
      }
    }
  }
  // Every line sent: in the sequence exactly once, on every client.
  // (Over everything client 0 delivered, in whatever epoch: a line delivered again in a new epoch is a duplicate to its reader.)
  const occurrences = new Map<string, number[]>();
  for (const { seq, key } of all[0]!.delivered.items) {
    const [type, , ...rest] = key.split('|');
    if (type === 'message') occurrences.set(rest.join('|'), [...(occurrences.get(rest.join('|')) ?? []), seq]);
  }
  const ids = new Set(all.map((p) => p.client.id));
  for (const [seq, key] of reference) {
    const [type, id] = key.split('|');
    if (type === 'notification' && ids.has(id) && key.endsWith('has disconnected')) report.spuriousNotices.push(`seq ${seq}: ${key}`);
  }
  const senders = new Set(all.map((p) => p.index));
  for (const [text, line] of lines) {
    if (!senders.has(line.client)) continue;
    if (line.status === 'refused') {
      report.refused.push(`${text}: ${line.error}`);
      continue;
    }
    const seen = occurrences.get(text) ?? [];
    if (seen.length === 0) {
      const what = `${text} (client ${line.client}, ${line.status}${line.seq ? ` as seq ${line.seq}` : ''})`;
      report.lost.push(what);
      if (line.status === 'acked') report.ackedLost.push(what);
    }
    if (line.status === 'pending')
      report.neverAcked.push(`${text} (client ${line.client}, ${seen.length === 0 ? 'delivered to nobody' : `at seq ${seen[0]}`})`);
    if (seen.length === 0) continue;
    if (seen.length > 1) report.duplicated.push(`${text} at seqs ${seen.join(', ')}`);
    else if (line.status !== 'acked')
      report.lost.push(`${text} (client ${line.client}): delivered at seq ${seen[0]} but never acknowledged`);
    else if (all.every((p) => p.delivered.items.some((d) => d.seq === seen[0]))) report.deliveredToAll += 1;
  }
  return report;
}

/** The reports of several groups as one. */
export function mergeReports(reports: readonly Report[]): Report {
  const lists = (key: Exclude<keyof Report, 'deliveredToAll'>) => reports.flatMap((r) => r[key]);
  return {
    deliveredToAll: reports.reduce((n, r) => n + r.deliveredToAll, 0),
    lost: lists('lost'),
    duplicated: lists('duplicated'),
    outOfOrder: lists('outOfOrder'),
    gaps: lists('gaps'),
    ackedLost: lists('ackedLost'),
    neverAcked: lists('neverAcked'),
    refused: lists('refused'),
    resumeFailures: lists('resumeFailures'),
    spuriousNotices: lists('spuriousNotices'),
    epochs: lists('epochs'),
    divergent: lists('divergent'),
  };
}

export function evidence(report: Report, target: ChaosTarget): string[] {
  const problems = [
    report.lost,
    report.duplicated,
    report.outOfOrder,
    report.gaps,
    report.refused,
    report.resumeFailures,
    report.spuriousNotices,
    report.epochs,
    report.divergent,
  ];
  if (problems.every((list) => list.length === 0)) return [];
  const section = (title: string, list: readonly string[]) =>
    list.length ? [`${title} (${list.length}):`, ...list.slice(0, 20).map((l) => `  ${l}`)] : [];
  return [
    'evidence:',
    ...section('lost', report.lost),
    ...section('duplicated', report.duplicated),
    ...section('out of order', report.outOfOrder),
    ...section('gaps', report.gaps),
    ...section('acknowledged, then lost', report.ackedLost),
    ...section('never acknowledged', report.neverAcked),
    ...section('refused', report.refused),
    ...section('resume failures', report.resumeFailures),
    ...section('disconnect notices', report.spuriousNotices),
    ...section('epochs', report.epochs),
    ...section('divergent', report.divergent),
    ...section('gateway warnings and errors (last 40)', target.gatewayProblems().slice(-40)),
  ];
}

export function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/**
 * The top self-time functions of a V8 CPU profile (node --cpu-prof), as a table.
 * V8 stamps samples with CLOCK_MONOTONIC in µs, the generator's clock (line.ts),
 * so a profile can be cut to the measured window, start-up left out.
 */
import { readFileSync } from 'node:fs';
import { num, table } from './table.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
}

/** A span of the monotonic clock, µs. */
export interface Window {
  readonly startUs: number;
  readonly endUs: number;
}

export function topSelfTime(file: string, window: Window, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nameOf = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame)]));
  const self = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.startUs || at > window.endUs) return;
    const name = nameOf.get(id) ?? '?';
    self.set(name, (self.get(name) ?? 0) + delta);
  });
  const busy = [...self].filter(([name]) => name !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  const rows = [...self]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => [name, num(us / 1000), num((us / busy) * 100, 1)]);
  const span = (window.endUs - window.startUs) / 1e6;
  return `${num(busy / 1e6, 1)} s busy in the ${num(span, 1)} s measured (idle excluded)\n\n${table(['function (self time)', 'ms', '% of busy'], rows)}`;
}

function frameName(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const url = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(services|packages)\//, '$1/');
  return `${name} ${url}:${frame.lineNumber + 1}`;
}

/**
 * The live dashboard (on METRICS_PORT, at /): every node of the cluster, from
 * /cluster.json at load (with the last 15 minutes) and then a snapshot a second
 * from /events. Text goes in as text only; no inline script or style (the CSP
 * forbids them).
 */
import type { ClusterReport, ClusterSnapshot } from '@switchboard/protocol';
import { Plots } from './plots.js';
import { Series } from './series.js';
import { renderTable } from './table.js';

const status = document.getElementById('status')!;
const tableBody = document.querySelector<HTMLTableSectionElement>('#nodes tbody')!;
const plots = new Plots(document.getElementById('plots')!);
let series = new Series();

function show(snapshot: ClusterSnapshot, state: 'live' | 'stale'): void {
  renderTable(tableBody, snapshot.nodes, snapshot.at);
  const ready = snapshot.nodes.filter((n) => n.ready).length;
  status.dataset.state = state;
  status.textContent =
    `${state === 'live' ? 'Live' : 'Reconnecting…'} · ${snapshot.nodes.length} node${snapshot.nodes.length === 1 ? '' : 's'}` +
    ` (${ready} ready) · served by ${snapshot.servedBy}`;
}

async function start(): Promise<void> {
  try {
    const report = (await (await fetch('cluster.json?history', { cache: 'no-store' })).json()) as ClusterReport;
    series = Series.from(report.history);
    show(report, 'live');
    plots.update(series, true);
  } catch {
    status.dataset.state = 'stale';
    status.textContent = 'Cannot read cluster.json; retrying…';
  }
  let last: ClusterSnapshot | undefined;
  const events = new EventSource('events');
  events.onmessage = (message: MessageEvent<string>) => {
    const snapshot = JSON.parse(message.data) as ClusterSnapshot;
    if (last && snapshot.at <= last.at) return; // the first one repeats what cluster.json said
    last = snapshot;
    const changed = series.add(snapshot);
    show(snapshot, 'live');
    plots.update(series, changed);
  };
  events.onerror = () => {
    if (last) show(last, 'stale');
  };
}

void start();

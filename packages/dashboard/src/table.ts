import type { NodeStats } from '@switchboard/protocol';
import { colourOf } from './plots.js';

/** The nodes table: one row per node, every value as text. */
export function renderTable(body: HTMLTableSectionElement, nodes: readonly NodeStats[], now: number): void {
  const sorted = [...nodes].sort((a, b) => (a.node < b.node ? -1 : 1));
  body.replaceChildren(
    ...sorted.map((node, i) => {
      const row = document.createElement('tr');
      row.dataset.node = node.node;
      const name = cell(node.node);
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colourOf(i);
      name.prepend(swatch);
      const health = cell(node.ready ? 'ready' : 'not ready');
      health.className = node.ready ? 'ok' : 'bad';
      if (node.reason) health.title = node.reason;
      row.append(
        name,
        health,
        cell(`${node.connections}`, `${node.connections - node.connectionsV2} v1 · ${node.connectionsV2} v2`),
        cell(rate(node.linesPerSec)),
        cell(rate(node.deliveriesPerSec)),
        cell(node.latencyP99Ms === null ? '–' : node.latencyP99Ms.toFixed(1)),
        cell(node.eventLoopLagMs.toFixed(1)),
        cell(rate(node.refusalsPerSec)),
        cell(duration(now - node.startedAt)),
      );
      return row;
    }),
  );
}

function cell(text: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function rate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** 42s, 12m, 3h 20m, 2d 4h. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

import { formatRate as rate, formatUptime, type NodeStats } from '@switchboard/protocol';
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
        cell(formatUptime(now - node.startedAt)),
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

import uPlot from 'uplot';
import type { NodeId, PlottedField } from '@switchboard/protocol';
import type { Series } from './series.js';
import { yRange } from './y-range.js';

/** The plots, in page order: the field each shows and its title. */
export const PLOTS: ReadonlyArray<{ readonly field: PlottedField; readonly title: string }> = [
  { field: 'connections', title: 'Connections' },
  { field: 'linesPerSec', title: 'Lines / s' },
  { field: 'deliveriesPerSec', title: 'Deliveries / s' },
  { field: 'latencyP99Ms', title: 'p99 bus-to-socket latency (ms)' },
  { field: 'eventLoopLagMs', title: 'Event-loop lag, p99 (ms)' },
  { field: 'refusalsPerSec', title: 'Refusals / s (upgrades and frames)' },
];

/** One colour per node, by its place among the sorted node ids; readable on light and dark. */
const PALETTE = ['#3b82f6', '#f97316', '#10b981', '#e11d48', '#a855f7', '#eab308', '#06b6d4', '#84cc16', '#ec4899', '#64748b'];

export function colourOf(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

const PLOT_HEIGHT = 180;

/** A time axis label: local HH:MM, with seconds when the ticks are less than a minute apart. */
function clock(seconds: number, withSeconds: boolean): string {
  const d = new Date(seconds * 1000);
  const parts = [d.getHours(), d.getMinutes(), ...(withSeconds ? [d.getSeconds()] : [])];
  return parts.map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * The six plots of the page, one uPlot each, one series per node. They are
 * built again when the set of nodes changes or the colour scheme does; between
 * times each update only hands uPlot the new data.
 */
export class Plots {
  private charts: Array<{ field: PlottedField; chart: uPlot; figure: HTMLElement }> = [];
  private nodes: NodeId[] = [];

  constructor(private readonly container: HTMLElement) {
    new ResizeObserver(() => this.resize()).observe(container);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.build(this.lastSeries));
  }

  private lastSeries: Series | undefined;

  /** Show `series`; rebuild when `rebuild` or the nodes differ from what is drawn. */
  update(series: Series, rebuild = false): void {
    this.lastSeries = series;
    const nodes = series.nodes;
    if (rebuild || nodes.join('\n') !== this.nodes.join('\n') || this.charts.length === 0) {
      this.build(series);
      return;
    }
    for (const { field, chart, figure } of this.charts) {
      chart.setData(series.data(field, nodes));
      figure.dataset.points = String(series.points(field));
      figure.dataset.peak = String(series.peak(field));
    }
  }

  private build(series: Series | undefined): void {
    for (const { chart } of this.charts) chart.destroy();
    this.charts = [];
    this.container.replaceChildren();
    if (!series) return;
    this.nodes = series.nodes;
    const style = getComputedStyle(document.documentElement);
    const ink = style.getPropertyValue('--muted').trim() || '#666';
    const grid = style.getPropertyValue('--grid').trim() || '#8884';
    for (const { field, title } of PLOTS) {
      const figure = document.createElement('figure');
      figure.className = 'plot';
      figure.dataset.field = field;
      figure.dataset.points = String(series.points(field));
      figure.dataset.peak = String(series.peak(field));
      const caption = document.createElement('figcaption');
      caption.textContent = title;
      figure.append(caption);
      this.container.append(figure);
      const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      const options: uPlot.Options = {
        width: this.widthFor(figure),
        height: PLOT_HEIGHT,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        // The top is above the highest value (spikes included) by a margin, at a round number.
        scales: { x: { time: true }, y: { range: (_u, min, max) => yRange(min, max) } },
        hooks: { setScale: [(u, key) => key === 'y' && (figure.dataset.top = String(u.scales.y?.max))] },
        axes: [
          { ...axis, space: 80, values: (_u, splits, _axis, _space, step) => splits.map((at) => clock(at, step < 60)) },
          { ...axis, size: 48 },
        ],
        series: [
          {},
          ...this.nodes.map((node, i) => ({ label: node, stroke: colourOf(i), width: 2, spanGaps: false, points: { show: false } })),
        ],
      };
      const chart = new uPlot(options, series.data(field, this.nodes), figure);
      this.charts.push({ field, chart, figure });
    }
  }

  private resize(): void {
    for (const { chart, figure } of this.charts) {
      const width = this.widthFor(figure);
      if (width !== chart.width) chart.setSize({ width, height: PLOT_HEIGHT });
    }
  }

  private widthFor(figure: HTMLElement): number {
    return Math.max(240, Math.floor(figure.clientWidth || this.container.clientWidth));
  }
}

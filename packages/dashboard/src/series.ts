import { PLOTTED_FIELDS, type ClusterHistory, type ClusterSnapshot, type NodeId, type PlottedField } from '@switchboard/protocol';

/** Samples kept: 15 minutes of one a second, as the server keeps. */
export const WINDOW_SAMPLES = 900;

type Column = Array<number | null>;

/**
 * The plotted values over time, aligned as uPlot wants them: one time axis
 * (seconds) and, per node and field, one value (or null) per time. Bounded to
 * WINDOW_SAMPLES; a node that appears gets nulls for the times before it.
 */
export class Series {
  readonly times: number[] = [];
  private readonly columns = new Map<NodeId, Record<PlottedField, Column>>();

  /** Start from the server's history. */
  static from(history: ClusterHistory | undefined): Series {
    const series = new Series();
    if (!history) return series;
    series.times.push(...history.times.map((ms) => ms / 1000));
    for (const [node, fields] of Object.entries(history.nodes)) {
      const record = {} as Record<PlottedField, Column>;
      // A record from an older node may lack a field.
      for (const field of PLOTTED_FIELDS) record[field] = [...((fields as Partial<typeof fields>)[field] ?? [])];
      series.columns.set(node, record);
    }
    series.trim();
    return series;
  }

  /** The nodes seen in the window, sorted. */
  get nodes(): NodeId[] {
    return [...this.columns.keys()].sort();
  }

  /** Append one snapshot. Returns true when a node was seen for the first time (the plots need a new series). */
  add(snapshot: ClusterSnapshot): boolean {
    let added = false;
    this.times.push(snapshot.at / 1000);
    for (const record of snapshot.nodes) {
      if (!this.columns.has(record.node)) {
        added = true;
        const fresh = {} as Record<PlottedField, Column>;
        for (const field of PLOTTED_FIELDS) fresh[field] = new Array<number | null>(this.times.length - 1).fill(null);
        this.columns.set(record.node, fresh);
      }
    }
    const present = new Map(snapshot.nodes.map((record) => [record.node, record]));
    for (const [node, fields] of this.columns) {
      const record = present.get(node);
      for (const field of PLOTTED_FIELDS) fields[field].push(record ? record[field] : null);
    }
    const dropped = this.trim();
    return added || dropped;
  }

  /** uPlot's data for one field: times first, then one column per node in `nodes` order. */
  data(field: PlottedField, nodes: readonly NodeId[]): [number[], ...Column[]] {
    return [this.times, ...nodes.map((node) => this.columns.get(node)?.[field] ?? [])];
  }

  /** Values of `field` that are not null, over all nodes. */
  points(field: PlottedField): number {
    let count = 0;
    for (const fields of this.columns.values()) for (const value of fields[field]) if (value !== null) count++;
    return count;
  }

  /** The highest value of `field` in the window, over all nodes (0 when none). */
  peak(field: PlottedField): number {
    let peak = 0;
    for (const fields of this.columns.values()) for (const value of fields[field]) if (value !== null && value > peak) peak = value;
    return peak;
  }

  /** Drop what is older than the window, and nodes with nothing left in it. Returns true when a node went. */
  private trim(): boolean {
    const excess = this.times.length - WINDOW_SAMPLES;
    if (excess > 0) {
      this.times.splice(0, excess);
      for (const fields of this.columns.values()) for (const field of PLOTTED_FIELDS) fields[field].splice(0, excess);
    }
    let dropped = false;
    for (const [node, fields] of this.columns) {
      if (fields.connections.every((value) => value === null)) {
        this.columns.delete(node);
        dropped = true;
      }
    }
    return dropped;
  }
}

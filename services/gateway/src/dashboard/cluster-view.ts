import {
  PLOTTED_FIELDS,
  type ClusterHistory,
  type ClusterSnapshot,
  type NodeId,
  type NodeStats,
  type PlottedField,
} from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import type { NodeStatsSampler } from './node-stats-sampler.js';
import type { StatsStore } from './stats-store.js';

/** How often a node samples itself and reads the others, in ms. */
export const SAMPLE_INTERVAL_MS = 1_000;
/** How many samples the history keeps: 15 minutes of seconds. */
export const HISTORY_SAMPLES = 900;

export type SnapshotListener = (snapshot: ClusterSnapshot) => void;

/**
 * The cluster as this node sees it, every second: it samples its own record,
 * exchanges it through the StatsStore for every live node's, and keeps the last
 * HISTORY_SAMPLES snapshots (bounded: at most MAX_NODES records each) for the
 * dashboard's plots. Listeners (the page's event streams) get each new snapshot.
 */
export class ClusterView {
  private readonly samples: ClusterSnapshot[] = [];
  private readonly listeners = new Set<SnapshotListener>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private latest: ClusterSnapshot;
  private readonly log: Logger;

  constructor(
    private readonly nodeId: NodeId,
    private readonly sampler: NodeStatsSampler,
    private readonly store: StatsStore,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'stats' });
    this.latest = { at: Date.now(), servedBy: nodeId, nodes: [] };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  /** Stop sampling and withdraw this node's record. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.sampler.stop();
    await this.store.close();
  }

  /** Every live node's latest record. */
  snapshot(): ClusterSnapshot {
    return this.latest;
  }

  /** The kept snapshots, column by column (see ClusterHistory). */
  history(): ClusterHistory {
    const times = this.samples.map((s) => s.at);
    const nodes: Record<NodeId, Record<PlottedField, Array<number | null>>> = {};
    this.samples.forEach((sample, i) => {
      for (const record of sample.nodes) {
        const series = (nodes[record.node] ??= emptySeries(times.length));
        for (const field of PLOTTED_FIELDS) series[field][i] = record[field];
      }
    });
    return { times, nodes };
  }

  /** Call `listener` with every new snapshot until the returned function is called. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return; // a slow Redis: skip a beat rather than pile up
    this.ticking = true;
    try {
      const own = this.sampler.sample();
      const nodes: NodeStats[] = await this.store.exchange(own);
      this.latest = { at: own.at, servedBy: this.nodeId, nodes };
      this.samples.push(this.latest);
      if (this.samples.length > HISTORY_SAMPLES) this.samples.shift();
      for (const listener of this.listeners) listener(this.latest);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'stats sample failed');
    } finally {
      this.ticking = false;
    }
  }
}

function emptySeries(length: number): Record<PlottedField, Array<number | null>> {
  const series = {} as Record<PlottedField, Array<number | null>>;
  for (const field of PLOTTED_FIELDS) series[field] = new Array<number | null>(length).fill(null);
  return series;
}

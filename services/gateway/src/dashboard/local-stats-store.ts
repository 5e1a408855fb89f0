import type { NodeStats } from '@switchboard/protocol';
import type { StatsStore } from './stats-store.js';

/** A lone node (the in-memory bus): it sees only itself. */
export class LocalStatsStore implements StatsStore {
  exchange(own: NodeStats): Promise<NodeStats[]> {
    return Promise.resolve([own]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

import type { NodeStats } from '@switchboard/protocol';

/** Most nodes one snapshot shows (the ones with the smallest ids first); the rest are left out. */
export const MAX_NODES = 64;

/**
 * Where nodes meet to see each other's stats records: each second a node hands
 * in its own and gets back every live node's (its own included), sorted by id.
 */
export interface StatsStore {
  exchange(own: NodeStats): Promise<NodeStats[]>;
  /** Withdraw this node's record and let go of connections. */
  close(): Promise<void>;
}

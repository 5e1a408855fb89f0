import type { BroadcastEvent, NodeId } from '@switchboard/protocol';

/** Called for every event on the bus, in the bus's order, including this node's own. */
export type BusEventHandler = (event: BroadcastEvent, origin: NodeId) => void;

/** Whether the bus can carry events now, and if not, why (for /readyz and logs). */
export interface BusHealth {
  readonly ready: boolean;
  readonly reason?: string;
}

/**
 * The broadcast channel between gateway nodes. The hub publishes every broadcast
 * event here and delivers to its local clients only what comes back from it, so
 * every client on every node sees one order. Implementations: MemoryBus (one node)
 * and RedisBus (a cluster). The hub never knows which one it has.
 */
export interface Bus {
  /** Connect, subscribe and deliver every event to `onEvent` from now on. Resolves at once; see health(). */
  start(onEvent: BusEventHandler): void;
  /** Send an event to every node. Rejects with BusUnavailableError when it cannot be sent. */
  publish(event: BroadcastEvent): Promise<void>;
  /** The next number for a default nickname, unique across the cluster (1, 2, ...). */
  nextGuestNumber(): Promise<number>;
  health(): BusHealth;
  /** Register a listener for health changes (ready <-> not ready). */
  onHealthChange(listener: (health: BusHealth) => void): void;
  /** Stop delivering and release connections. */
  close(): Promise<void>;
}

/** The bus could not take an event or a request: nothing was sent. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
}

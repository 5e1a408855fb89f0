import type { BroadcastEvent, NodeId } from '@switchboard/protocol';
import { BusUnavailableError, type Bus, type BusEventHandler, type BusHealth } from './bus.js';

/**
 * The bus of a single node: events go straight back to this node's hub. Delivery
 * is asynchronous (a microtask), as it is over Redis, so callers cannot come to
 * rely on a synchronous echo.
 */
export class MemoryBus implements Bus {
  private handler: BusEventHandler | undefined;
  private guests = 0;
  private closed = false;

  constructor(private readonly nodeId: NodeId) {}

  start(onEvent: BusEventHandler): void {
    this.handler = onEvent;
  }

  publish(event: BroadcastEvent): Promise<void> {
    const handler = this.handler;
    if (this.closed || !handler) return Promise.reject(new BusUnavailableError('memory bus is closed'));
    queueMicrotask(() => handler(event, this.nodeId));
    return Promise.resolve();
  }

  nextGuestNumber(): Promise<number> {
    return Promise.resolve(++this.guests);
  }

  health(): BusHealth {
    return this.closed ? { ready: false, reason: 'bus closed' } : { ready: true };
  }

  onHealthChange(): void {
    // Always ready until closed: nothing to report.
  }

  close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    return Promise.resolve();
  }
}

import { textFrame, wireOf } from './text-frame.js';
import type { Outgoing } from '../hub/peer.js';

/** Something with frames queued during this turn of the event loop. */
export interface Flushable {
  flush(batches: BatchCache): void;
}

/**
 * Writes coalesced per turn of the event loop: a connection that gets frames
 * queues them and asks to be flushed; once per turn (setImmediate, after the I/O
 * that brought the events in) every such connection writes all it has at once,
 * so a burst costs one write per socket, not one per event. One scheduler serves
 * the whole node: no timer per connection.
 */
export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  schedule(target: Flushable): void {
    this.dirty.push(target);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const targets = this.dirty;
    this.dirty = [];
    const batches = new BatchCache();
    for (const target of targets) target.flush(batches);
  }
}

/**
 * Protocol v2 batch frames made during one flush, shared: when several
 * connections have the very same frames queued (the common case: every member
 * got the same events this turn), the batch is joined and framed once.
 */
export class BatchCache {
  private readonly made = new Map<Outgoing, Array<{ items: readonly Outgoing[]; wire: Buffer }>>();

  /** The wire bytes of one text frame carrying `items` one per line (docs/protocol.md, Batches). */
  batch(items: readonly Outgoing[]): Buffer {
    if (items.length === 1) return wireOf(items[0]!);
    const candidates = this.made.get(items[0]!) ?? [];
    const found = candidates.find((c) => c.items.length === items.length && c.items.every((item, i) => item === items[i]));
    if (found) return found.wire;
    const wire = textFrame(Buffer.from(items.map((item) => item.text).join('\n')));
    candidates.push({ items, wire });
    this.made.set(items[0]!, candidates);
    return wire;
  }
}

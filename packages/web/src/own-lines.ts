/**
 * How far a line sent from this page has got, until the gateway acknowledges it:
 * - `pending`: written, waiting for its acknowledgement;
 * - `retrying`: still not acknowledged past the SDK's reconnect bound (`ackReconnectMs`); the SDK keeps sending it;
 * - `failed`: refused for good (the error says why).
 */
export type Delivery = 'pending' | 'retrying' | 'failed';

/** What each state says, beside the line: the words a screen reader reads too. */
export const DELIVERY_LABELS: Readonly<Record<Delivery, string>> = {
  pending: 'sending…',
  retrying: 'not sent yet, retrying',
  failed: 'not sent',
};

/** Refs of acknowledged lines remembered, so that a late echo of one is not shown a second time. */
const ACKNOWLEDGED_KEPT = 200;

/**
 * The lines this page sent, shown at once in the message list and marked until
 * the gateway acknowledges them: `data-delivery` on the entry (the state) and a
 * label beside the text (its words), `data-resends` once the SDK has written it
 * again. Acknowledged, a line is shown as any other; its echo is not shown again.
 */
export class OwnLines {
  private readonly waiting = new Map<string, HTMLElement>();
  private readonly acknowledgedRefs = new Set<string>();

  /** Whether the line with this ref is one this page shows (waiting or acknowledged). */
  shows(ref: string): boolean {
    return this.waiting.has(ref) || this.acknowledgedRefs.has(ref);
  }

  /** A line just sent, shown as `item`: pending. */
  sent(ref: string, item: HTMLElement): void {
    this.waiting.set(ref, item);
    mark(item, 'pending');
  }

  /** The SDK wrote it again (`resends` times so far), or it is overdue: shown as retrying. */
  update(ref: string, resends: number, overdue: boolean): void {
    const item = this.waiting.get(ref);
    if (item === undefined) return;
    if (resends > 0) item.dataset.resends = String(resends);
    if (overdue) mark(item, 'retrying');
  }

  /** Refused for good. */
  failed(ref: string): void {
    const item = this.waiting.get(ref);
    if (item === undefined) return;
    this.waiting.delete(ref);
    mark(item, 'failed');
  }

  /** Acknowledged (its echo, or an `ack`): shown as any line from now on. */
  acknowledged(ref: string): void {
    const item = this.waiting.get(ref);
    if (item === undefined) return;
    this.waiting.delete(ref);
    delete item.dataset.delivery;
    item.querySelector('.delivery')?.remove();
    this.acknowledgedRefs.add(ref);
    if (this.acknowledgedRefs.size > ACKNOWLEDGED_KEPT) {
      const oldest = this.acknowledgedRefs.values().next().value;
      if (oldest !== undefined) this.acknowledgedRefs.delete(oldest);
    }
  }
}

function mark(item: HTMLElement, delivery: Delivery): void {
  if (item.dataset.delivery === delivery) return;
  item.dataset.delivery = delivery;
  let label = item.querySelector<HTMLElement>('.delivery');
  if (label === null) {
    label = document.createElement('span');
    label.className = 'delivery';
    item.append(label);
  }
  label.textContent = DELIVERY_LABELS[delivery];
}

import type { BroadcastEvent, EventDraft, Position, RoomName } from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { Sequencer } from './sequencer.js';

/** One room this node serves: its subscription, how many local members use it, and its sequencer. */
interface Stream {
  users: number;
  readonly sequencer: Sequencer;
  /** Settles once the bus delivers the room's events and the sequencer knows where it starts. */
  readonly ready: Promise<void>;
}

/**
 * The rooms this node serves: it subscribes to a room's events while it has at
 * least one member there (the first member in subscribes, the last one out
 * unsubscribes), so it hears nothing of rooms it does not serve, and keeps a
 * Sequencer per room (each room is its own sequence).
 */
export class RoomStreams {
  private readonly streams = new Map<RoomName, Stream>();

  constructor(
    private readonly bus: Bus,
    private readonly deliver: (event: BroadcastEvent) => void,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Take `room` for one member; resolves once its events flow here. Rejects (BusUnavailableError) when the bus cannot subscribe. */
  async acquire(room: RoomName): Promise<void> {
    let stream = this.streams.get(room);
    if (!stream) {
      const sequencer = new Sequencer(room, this.bus, this.deliver, this.logger, this.metrics);
      const ready = this.bus.subscribe(room).then(() => sequencer.init());
      stream = { users: 0, sequencer, ready };
      this.streams.set(room, stream);
      const created = stream;
      ready.catch(() => {
        // Not subscribed: forget it, so the next member tries again.
        if (this.streams.get(room) === created && created.users === 0) this.streams.delete(room);
      });
    }
    stream.users += 1;
    try {
      await stream.ready;
    } catch (err) {
      this.release(room);
      throw err;
    }
  }

  /** A member let go of `room`; the last one out unsubscribes. */
  release(room: RoomName): void {
    const stream = this.streams.get(room);
    if (!stream) return;
    stream.users -= 1;
    if (stream.users > 0) return;
    this.streams.delete(room);
    void this.bus.unsubscribe(room);
  }

  /** Where this node stands in `room` (the last event passed on), if it serves it. */
  position(room: RoomName): Position | undefined {
    return this.streams.get(room)?.sequencer.position();
  }

  /** The bus placed an event of this node's at `position` (see Sequencer.placed). */
  placed(draft: EventDraft, position: Position): void {
    this.streams.get(draft.room)?.sequencer.placed(draft, position);
  }

  /** An event from the bus: to its room's sequencer (events of rooms no longer served are dropped). */
  onEvent(event: BroadcastEvent): void {
    this.streams.get(event.room)?.sequencer.onEvent(event);
  }

  /** After a reconnect: every room catches up on what it may have missed. */
  resync(): void {
    for (const stream of this.streams.values()) {
      void stream.sequencer.init().then(
        () => stream.sequencer.resync(),
        () => undefined,
      );
    }
  }
}

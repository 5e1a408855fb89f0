import { WebSocket } from 'ws';
import { isBroadcastEvent, parseServerFrames, type BroadcastEvent, type RoomName } from '@switchboard/protocol';
import { SwitchboardClient } from '@switchboard/client';
import { EventLog } from '@switchboard/testkit';

/** A broadcast event a client delivered: its place, and what it was (keyOf). */
export interface Delivered {
  readonly seq: number;
  readonly epoch: string;
  readonly key: string;
  /** When the client delivered it (Date.now()): the failover suite measures stalls from these. */
  readonly at: number;
}

/** What one socket (one connection of a client) received, straight off the wire. */
export interface Wire {
  /** The room its events must be of, by the latest welcome or joined. */
  room?: RoomName;
  start?: number;
  epoch?: string;
  resumed?: boolean;
  node?: string;
  problems: string[];
  last?: number;
}

/** One SDK client (protocol v2) of the chaos scenario, everything it delivered, and everything its sockets received. */
export class Probe {
  readonly client: SwitchboardClient;
  /** What it delivered in its room (since it joined it, after join()). */
  delivered = new EventLog<Delivered>();
  readonly wires: Wire[] = [];
  readonly reconnectMs: number[] = [];
  readonly resumeFailures: string[] = [];
  readonly gaps: string[] = [];
  readonly nodes: string[] = [];
  /** Error frames by code: BUS_UNAVAILABLE and RATE_LIMITED are retried by the SDK. */
  readonly errors = new Map<string, number>();
  /** The room it joined with join(); undefined: it stays where it is welcomed (the lobby). */
  private joined: RoomName | undefined;
  counter = 0;
  timer: ReturnType<typeof setInterval> | undefined;
  private lostAt: number | undefined;

  constructor(
    readonly index: number,
    url: string,
    ca: Buffer | undefined,
  ) {
    const wires = this.wires;
    class Tapped extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { ca });
        const wire: Wire = { problems: [] };
        wires.push(wire);
        this.on('message', (data: Buffer) => checkWire(wire, data.toString()));
      }
    }
    this.client = new SwitchboardClient({
      url,
      WebSocket: Tapped,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
      sendRetry: { initialDelayMs: 100, maxDelayMs: 1_000 },
      connectTimeoutMs: 5_000,
    });
    const record = (e: BroadcastEvent) => {
      if (this.joined === undefined || e.room === this.joined)
        this.delivered.push({ seq: e.seq, epoch: e.epoch, key: keyOf(e), at: Date.now() });
    };
    this.client.on('message', record);
    this.client.on('notification', record);
    this.client.on('nick_update', record);
    this.client.on('close', ({ willReconnect }) => {
      if (willReconnect) this.lostAt ??= Date.now();
    });
    this.client.on('welcome', (w) => {
      this.nodes.push(w.node);
      if (this.lostAt !== undefined) this.reconnectMs.push(Date.now() - this.lostAt);
      this.lostAt = undefined;
    });
    this.client.on('resumeFailed', (f) =>
      this.resumeFailures.push(`${f.reason} (since ${f.previous.since}, welcome seq ${f.welcome.seq})`),
    );
    this.client.on('gap', (g) => this.gaps.push(JSON.stringify(g)));
    this.client.on('error', (e) => this.errors.set(e.code, (this.errors.get(e.code) ?? 0) + 1));
  }

  /** Move to `room`: from then on, only its events are recorded, in a fresh `delivered`. */
  async join(room: RoomName): Promise<void> {
    this.joined = room;
    this.delivered = new EventLog<Delivered>();
    await this.client.join(room);
  }

  get room(): RoomName | undefined {
    return this.joined;
  }

  get node(): string {
    return this.client.node ?? '?';
  }

  get lastSeq(): number {
    return this.delivered.items.at(-1)?.seq ?? 0;
  }
}

/**
 * One connection's frames (v2: a text frame may carry a batch) must be: welcome,
 * then broadcasts at welcome.seq + 1, + 2, ...; a `joined` starts the new room's
 * sequence the same way, and no event of another room may come. A room's recent lines (`history: true`) are outside it.
 */
function checkWire(wire: Wire, text: string): void {
  for (const frame of parseServerFrames(text)) {
    if (frame.type === 'welcome') {
      Object.assign(wire, {
        room: frame.room,
        start: frame.seq,
        epoch: frame.epoch,
        resumed: frame.resumed,
        node: frame.node,
        last: frame.seq,
      });
    } else if (frame.type === 'joined') {
      Object.assign(wire, { room: frame.room, start: frame.seq, epoch: frame.epoch, last: frame.seq });
    } else if (isBroadcastEvent(frame) && !(frame.type === 'message' && frame.history === true)) {
      checkEvent(wire, frame);
    }
  }
}

function checkEvent(wire: Wire, frame: BroadcastEvent): void {
  const expected = (wire.last ?? 0) + 1;
  if (wire.room !== undefined && frame.room !== wire.room) {
    wire.problems.push(`an event of #${frame.room} in #${wire.room}: ${keyOf(frame)}`);
    return;
  }
  if (frame.epoch !== wire.epoch) {
    // Reported once; the connection's sequence goes on in the new epoch.
    wire.problems.push(`epoch ${frame.epoch} after ${wire.epoch} at seq ${frame.seq}, with no welcome or joined`);
    wire.epoch = frame.epoch;
    wire.last = frame.seq;
    return;
  } else if (frame.seq < expected) wire.problems.push(`duplicate or out of order: seq ${frame.seq} after ${wire.last} (${keyOf(frame)})`);
  else if (frame.seq > expected) wire.problems.push(`gap: seq ${frame.seq} after ${wire.last}`);
  wire.last = Math.max(wire.last ?? 0, frame.seq);
}

/** What an event is, the same on every client: type, sender, text. */
export function keyOf(e: BroadcastEvent): string {
  return `${e.type}|${e.id}|${e.message}`;
}

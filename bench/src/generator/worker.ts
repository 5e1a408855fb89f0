/**
 * A load generator worker, in its own process (its CPU is not the servers'): it
 * holds clients, sends lines at a fixed rate and counts what every client
 * receives, driven by the coordinator over IPC (worker-protocol.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientKind } from '../systems/system.js';
import { connectClient, type ClientHandlers, type LoadClient } from './client.js';
import { Histogram } from './histogram.js';
import { makeLine, nowUs, readLine, type LineStamp } from './line.js';
import { roomName } from '../room-plan.js';
import type {
  ClientSpec,
  ConnectArgs,
  ConnectResult,
  PhaseStats,
  Reply,
  Request,
  SendArgs,
  SendResult,
  WorkerStats,
} from './worker-protocol.js';

/** The send loop's tick, ms: each tick sends every line that is due by then. */
const SEND_TICK_MS = 2;
/** Wait before another reconnect attempt after a failed one, ms (plus as much jitter). */
const RECONNECT_RETRY_MS = 100;

/** Where readLine() puts what it read: one object for every delivery. */
const stamp: LineStamp = { phase: 0, sentUs: 0, room: 0 };

interface Slot {
  readonly spec: ClientSpec;
  client: LoadClient | undefined;
}

class Phase {
  received = 0;
  strays = 0;
  lastUs = 0;
  readonly latency = new Histogram();
}

class Worker {
  private readonly slots: Slot[] = [];
  private readonly phases = new Map<number, Phase>();
  private kind: ClientKind = 'ws-json';
  private timeoutMs = 10_000;
  private frames = 0;
  private notices = 0;
  private errors = 0;
  private readonly closes: Record<string, number> = {};
  private reconnecting = 0;
  private reconnected = 0;
  private reconnectFailures = 0;
  private reconnectError: string | undefined;
  private lastReconnectUs = 0;

  async connect(args: ConnectArgs): Promise<ConnectResult> {
    this.kind = args.kind;
    this.timeoutMs = args.timeoutMs;
    const startUs = nowUs();
    const deadline = Date.now() + args.deadlineMs;
    let connected = 0;
    let failed = 0;
    let lastWelcomeUs = startUs;
    let firstError: string | undefined;
    const first = this.slots.length;
    const slots = args.clients.map((spec): Slot => ({ spec, client: undefined }));
    this.slots.push(...slots);
    let next = 0;
    for (; next < slots.length && Date.now() < deadline; next += args.batch) {
      await Promise.all(
        slots.slice(next, next + args.batch).map(async (slot, i) => {
          try {
            slot.client = await connectClient(
              this.kind,
              slot.spec.url,
              this.handlers(first + next + i),
              this.timeoutMs,
              slot.spec.room === undefined ? undefined : roomName(slot.spec.room),
            );
            connected++;
            lastWelcomeUs = nowUs();
          } catch (err) {
            failed++;
            firstError ??= (err as Error).message;
          }
        }),
      );
    }
    return { connected, failed, skipped: Math.max(0, slots.length - next), startUs, lastWelcomeUs, ...(firstError && { firstError }) };
  }

  /** Send `rate` lines per second for `durationMs`; each tick catches up on every line due, so timer lag does not lower the rate. */
  async send(args: SendArgs): Promise<SendResult> {
    const senders = args.senders.map((index) => this.slots[index]!);
    const startUs = nowUs();
    const endUs = startUs + args.durationMs * 1000;
    let due = 0;
    let sent = 0;
    let skipped = 0;
    for (let now = startUs; now < endUs; now = nowUs()) {
      const target = Math.floor(((now - startUs) / 1e6) * args.rate);
      for (; due < target; due++) {
        const sender = senders[due % senders.length]!;
        const client = sender.client;
        if (client?.open) {
          client.send(makeLine(args.phase, nowUs(), due, args.bytes, sender.spec.room));
          sent++;
        } else {
          skipped++;
        }
      }
      await delay(SEND_TICK_MS);
    }
    return { sent, skipped, startUs, endUs: nowUs() };
  }

  stats(phases: readonly number[]): WorkerStats {
    const byPhase: Record<number, PhaseStats> = {};
    for (const id of phases) {
      const phase = this.phases.get(id) ?? new Phase();
      byPhase[id] = { received: phase.received, strays: phase.strays, latency: phase.latency.toData(), lastUs: phase.lastUs };
    }
    return {
      phases: byPhase,
      frames: this.frames,
      notices: this.notices,
      errors: this.errors,
      closes: this.closes,
      open: this.slots.filter((s) => s.client?.open).length,
      reconnecting: this.reconnecting,
      reconnected: this.reconnected,
      reconnectFailures: this.reconnectFailures,
      ...(this.reconnectError && { reconnectError: this.reconnectError }),
      lastReconnectUs: this.lastReconnectUs,
    };
  }

  close(): void {
    for (const slot of this.slots) slot.client?.terminate();
  }

  private handlers(index: number): ClientHandlers {
    const slot = () => this.slots[index]!;
    return {
      line: (text, at) => {
        this.frames++;
        if (!slot().spec.record) return;
        if (!readLine(text, at, stamp)) return;
        const now = nowUs();
        let phase = this.phases.get(stamp.phase);
        if (!phase) this.phases.set(stamp.phase, (phase = new Phase()));
        const room = slot().spec.room;
        if (room !== undefined && stamp.room !== room) {
          phase.strays++;
          return;
        }
        phase.received++;
        phase.lastUs = now;
        phase.latency.record(now - stamp.sentUs);
      },
      other: () => {
        this.frames++;
        this.notices++;
      },
      error: () => {
        this.frames++;
        this.errors++;
      },
      closed: (why) => {
        this.closes[why] = (this.closes[why] ?? 0) + 1;
        const s = slot();
        s.client = undefined;
        if (s.spec.reconnectTo?.length) {
          this.reconnecting++;
          void this.reconnect(index, s.spec.reconnectTo);
        }
      },
    };
  }

  /** Connect the slot again to a random one of `urls`, until it works. */
  private async reconnect(index: number, urls: readonly string[]): Promise<void> {
    for (;;) {
      const url = urls[Math.floor(Math.random() * urls.length)]!;
      try {
        this.slots[index]!.client = await connectClient(this.kind, url, this.handlers(index), this.timeoutMs);
        this.reconnecting--;
        this.reconnected++;
        this.lastReconnectUs = nowUs();
        return;
      } catch (err) {
        this.reconnectFailures++;
        this.reconnectError ??= (err as Error).message;
        await delay(RECONNECT_RETRY_MS * (1 + Math.random()));
      }
    }
  }
}

const worker = new Worker();

process.on('message', (request: Request) => {
  void handle(request)
    .then(
      (result): Reply => ({ id: request.id, ok: true, result }),
      (err: unknown): Reply => ({ id: request.id, ok: false, error: (err as Error).stack ?? String(err) }),
    )
    .then((reply) => {
      process.send!(reply);
      if (request.op === 'close') process.disconnect();
    });
});

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      return worker.connect(request.args);
    case 'send':
      return worker.send(request.args);
    case 'stats':
      return worker.stats(request.args.phases);
    case 'close':
      worker.close();
      return {};
  }
}

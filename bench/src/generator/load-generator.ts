/**
 * The load generator as the scenarios see it: W worker processes (worker.ts)
 * sharing the clients (client g lives in worker g % W), driven over IPC, their
 * counts merged. Its CPU is read apart from the servers'.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NodeProcess } from '../node-process.js';
import type { ClientKind } from '../systems/system.js';
import { Histogram } from './histogram.js';
import type { ClientSpec, ConnectResult, PhaseStats, Reply, Request, SendResult, WorkerStats } from './worker-protocol.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
/** A young generation big enough that the per-delivery garbage costs few scavenges. */
const GENERATOR_NODE_FLAGS = ['--max-semi-space-size=64'];
/** How often settle() reads the counts, ms. */
const SETTLE_POLL_MS = 250;

export interface ConnectOptions {
  /** Clients connecting at once, over all workers. */
  readonly batch: number;
  /** Per-client wait for the welcome, ms. */
  readonly timeoutMs?: number;
  /** Start no new batch after this long, ms. */
  readonly deadlineMs?: number;
}

/** Merged over the workers. */
export interface Connected {
  readonly connected: number;
  readonly failed: number;
  readonly skipped: number;
  /** From the first connect to the last welcome, ms. */
  readonly elapsedMs: number;
  readonly firstError?: string;
}

export interface Sent {
  readonly sent: number;
  readonly skipped: number;
}

/** Every worker's figures summed up: the measured phases' deliveries (their latencies merged), and the rest. */
export type Stats = Omit<PhaseStats, 'latency'> & Omit<WorkerStats, 'phases'> & { readonly latency: Histogram };

class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  /** Clients this worker holds so far. */
  size = 0;

  constructor(readonly process: NodeProcess) {
    process.child.on('message', (reply: Reply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  call<T>(op: Request['op'], args: object): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, (reply) => (reply.ok ? resolve(reply.result as T) : reject(new Error(`generator ${op}: ${reply.error}`))));
      this.process.child.send({ id, op, args });
      void this.process.exited.then(() => reject(new Error(`generator worker exited during ${op}`)));
    });
  }
}

export class LoadGenerator {
  /** Where each client lives: [worker, index in that worker], by global index. */
  private readonly placement: Array<[number, number]> = [];

  private constructor(
    private readonly kind: ClientKind,
    private readonly workers: readonly WorkerHandle[],
  ) {}

  static start(kind: ClientKind, workers: number): LoadGenerator {
    return new LoadGenerator(
      kind,
      Array.from(
        { length: workers },
        (_, i) => new WorkerHandle(NodeProcess.start(WORKER, [], { label: `gen${i + 1}`, ipc: true, execArgv: GENERATOR_NODE_FLAGS })),
      ),
    );
  }

  get pids(): number[] {
    return this.workers.map((w) => w.process.pid);
  }

  get size(): number {
    return this.placement.length;
  }

  /** Connect clients (global indexes continue from the previous call), `batch` at a time. */
  async connect(clients: readonly ClientSpec[], options: ConnectOptions): Promise<Connected> {
    const per = this.workers.map((): ClientSpec[] => []);
    for (const spec of clients) {
      const w = this.placement.length % this.workers.length;
      per[w]!.push(spec);
      this.placement.push([w, this.workers[w]!.size++]);
    }
    const batch = Math.max(1, Math.ceil(options.batch / this.workers.length));
    const results = await Promise.all(
      this.workers.map((worker, w) =>
        worker.call<ConnectResult>('connect', {
          kind: this.kind,
          clients: per[w],
          batch,
          timeoutMs: options.timeoutMs ?? 30_000,
          deadlineMs: options.deadlineMs ?? Number.MAX_SAFE_INTEGER,
        }),
      ),
    );
    const startUs = Math.min(...results.map((r) => r.startUs));
    const lastUs = Math.max(...results.map((r) => r.lastWelcomeUs));
    return {
      connected: sum(results.map((r) => r.connected)),
      failed: sum(results.map((r) => r.failed)),
      skipped: sum(results.map((r) => r.skipped)),
      elapsedMs: (lastUs - startUs) / 1000,
      ...(results.find((r) => r.firstError) && { firstError: results.find((r) => r.firstError)!.firstError }),
    };
  }

  /** Send `rate` lines/s in total through the clients `senders` (global indexes), tagged `phase`, for `durationMs`. */
  async send(phase: number, rate: number, durationMs: number, bytes: number, senders: readonly number[]): Promise<Sent> {
    const own = this.workers.map((): number[] => []);
    for (const g of senders) {
      const [w, local] = this.placement[g]!;
      own[w]!.push(local);
    }
    const results = await Promise.all(
      this.workers.flatMap((worker, w) =>
        own[w]!.length === 0
          ? []
          : [
              worker.call<SendResult>('send', {
                phase,
                rate: (rate * own[w]!.length) / senders.length,
                durationMs,
                bytes,
                senders: own[w],
              }),
            ],
      ),
    );
    return { sent: sum(results.map((r) => r.sent)), skipped: sum(results.map((r) => r.skipped)) };
  }

  /** Counts so far, merged; `received` and `latency` for the lines of `phase`. */
  async stats(phase: number): Promise<Stats> {
    const all = await Promise.all(this.workers.map((w) => w.call<WorkerStats>('stats', { phases: [phase] })));
    const latency = new Histogram();
    const closes: Record<string, number> = {};
    for (const s of all) {
      latency.add(s.phases[phase]!.latency);
      for (const [why, n] of Object.entries(s.closes)) closes[why] = (closes[why] ?? 0) + n;
    }
    return {
      received: sum(all.map((s) => s.phases[phase]!.received)),
      strays: sum(all.map((s) => s.phases[phase]!.strays)),
      latency,
      lastUs: Math.max(...all.map((s) => s.phases[phase]!.lastUs)),
      frames: sum(all.map((s) => s.frames)),
      notices: sum(all.map((s) => s.notices)),
      errors: sum(all.map((s) => s.errors)),
      closes,
      open: sum(all.map((s) => s.open)),
      reconnecting: sum(all.map((s) => s.reconnecting)),
      reconnected: sum(all.map((s) => s.reconnected)),
      reconnectFailures: sum(all.map((s) => s.reconnectFailures)),
      ...(all.find((s) => s.reconnectError) && { reconnectError: all.find((s) => s.reconnectError)!.reconnectError }),
      lastReconnectUs: Math.max(...all.map((s) => s.lastReconnectUs)),
    };
  }

  /**
   * Poll the counts until `done` holds, or nothing has arrived for `quietMs`, or
   * `timeoutMs` has passed; resolves with the last counts.
   */
  async settle(phase: number, done: (stats: Stats) => boolean, quietMs: number, timeoutMs: number): Promise<Stats> {
    const deadline = Date.now() + timeoutMs;
    let stats = await this.stats(phase);
    let quietSince = Date.now();
    while (!done(stats) && Date.now() - quietSince < quietMs && Date.now() < deadline) {
      await delay(SETTLE_POLL_MS);
      const frames = stats.frames;
      stats = await this.stats(phase);
      if (stats.frames !== frames) quietSince = Date.now();
    }
    return stats;
  }

  /** Drop every client and stop the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call('close', {}).catch(() => undefined)));
    await Promise.all(this.workers.map((w) => w.process.stop('SIGKILL')));
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

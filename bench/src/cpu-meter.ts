/**
 * CPU-seconds used by groups of processes between start() and read(): the
 * system's nodes, its redis-server(s) (one, or each shard of a Redis Cluster), and the load generator (reported, never
 * counted as the system's); and by everything else on the machine meanwhile.
 */
import { performance } from 'node:perf_hooks';
import { cpuSeconds, machineBusySeconds } from './proc-stats.js';

export interface CpuUse {
  /** All nodes of the system together (gateways, Socket.IO or relay processes). */
  readonly nodes: number;
  /** Every redis-server of the system together. */
  readonly redis: number;
  /** Each redis-server's own (one per shard of a Redis Cluster), in the order given. */
  readonly redisEach: readonly number[];
  /** nodes + redis: the system's cost. */
  readonly server: number;
  /** The load generator's workers: not the system's cost. */
  readonly generator: number;
  /** Every other process on the machine (other sessions' work, the kernel's): what the measurement shared the CPUs with. */
  readonly others: number;
  /** Wall-clock seconds between start() and read(). */
  readonly seconds: number;
}

export class CpuMeter {
  private before: number[] = [];
  private machineBefore = 0;
  private startedAt = 0;

  constructor(
    private readonly nodePids: readonly number[],
    private readonly redisPids: readonly number[],
    private readonly generatorPids: readonly number[],
  ) {}

  start(): this {
    this.before = this.sample();
    this.machineBefore = machineBusySeconds();
    this.startedAt = performance.now();
    return this;
  }

  read(): CpuUse {
    const used = this.sample().map((value, i) => value - this.before[i]!);
    const machine = machineBusySeconds() - this.machineBefore;
    const n = this.nodePids.length;
    const r = this.redisPids.length;
    const nodes = sum(used.slice(0, n));
    const redisEach = used.slice(n, n + r);
    const redis = sum(redisEach);
    const generator = sum(used.slice(n + r));
    const others = Math.max(0, machine - nodes - redis - generator);
    return { nodes, redis, redisEach, server: nodes + redis, generator, others, seconds: (performance.now() - this.startedAt) / 1000 };
  }

  private sample(): number[] {
    // A node that died (SIGKILLed in the reconnect storm) counts what it had used when last seen.
    return [...this.nodePids, ...this.redisPids, ...this.generatorPids].map((pid, i) => {
      try {
        return cpuSeconds(pid);
      } catch {
        return this.before[i] ?? 0;
      }
    });
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

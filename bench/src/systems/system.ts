/**
 * A system under test: N server nodes and the redis-server(s) they share (one,
 * or the masters of a Redis Cluster), each in its own process, started fresh
 * for each measurement.
 */
import type { RedisServer } from '@switchboard/testkit';
import { track, untrack, type NodeProcess } from '../node-process.js';

/** How the load generator speaks to a system: seed-protocol text frames over ws, or socket.io-client. */
export type ClientKind = 'ws-json' | 'socket.io';

export interface StartOptions {
  /** Gateway processes, each on its own port of 127.0.0.1. */
  readonly nodes: number;
  /** The comparison servers broadcast "X has connected" on each join, as Switchboard does. */
  readonly joinNotices: boolean;
  /** Write a V8 CPU profile of each node into this folder (on stop). */
  readonly cpuProfileDir?: string;
  /** Settings of each gateway beside the bench's own (Switchboard only: `MAX_ROOMS`, `PING_INTERVAL_MS`). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SystemUnderTest {
  /** Short id for flags: switchboard, socketio, naive. */
  readonly id: string;
  /** Name in the tables. */
  readonly name: string;
  readonly client: ClientKind;
  start(options: StartOptions): Promise<RunningSystem>;
}

export class RunningSystem {
  constructor(
    readonly nodes: readonly NodeProcess[],
    /** What a client connects to, one per node. */
    readonly urls: readonly string[],
    /** One redis-server, or every master of a Redis Cluster (its shards). */
    readonly redis: readonly RedisServer[],
  ) {
    for (const server of redis) track(server.pid!);
  }

  get nodePids(): number[] {
    return this.nodes.map((n) => n.pid);
  }

  /** One per redis-server (per shard of a Redis Cluster). */
  get redisPids(): number[] {
    return this.redis.map((r) => r.pid!);
  }

  /** Where each node's output stands now, for logSince(). */
  logMark(): number[] {
    return this.nodes.map((n) => n.output.length);
  }

  /**
   * What the nodes printed since `mark`, one entry per distinct message with its
   * count: "gw3: this node was taken for dead... (x1)". Pino lines are shown by their msg.
   */
  logSince(mark: readonly number[]): string[] {
    const counts = new Map<string, number>();
    this.nodes.forEach((node, i) => {
      for (const line of node.output.slice(mark[i] ?? 0)) {
        const text = `${node.label}: ${messageOf(line)}`;
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
    });
    return [...counts].map(([text, n]) => `${text} (x${n})`);
  }

  /** SIGKILL one node: it dies without closing anything. */
  async kill(node: number): Promise<void> {
    await this.nodes[node]!.stop('SIGKILL');
  }

  /** Stop every node (SIGINT when profiling, so the profile is written; else SIGKILL), then Redis. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(signal)));
    for (const pid of this.redisPids) untrack(pid);
    await Promise.all(this.redis.map((r) => r.dispose()));
  }
}

/** A pino line's msg (and reason, if any); any other line as printed, cut short. */
function messageOf(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: unknown; reason?: unknown };
    if (typeof entry.msg === 'string') return typeof entry.reason === 'string' ? `${entry.msg} (${entry.reason})` : entry.msg;
  } catch {
    // not JSON
  }
  return line.slice(0, 160);
}

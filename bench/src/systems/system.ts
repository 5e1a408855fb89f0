/**
 * A system under test: N server nodes and the redis-server(s) they share (one,
 * or the masters of a Redis Cluster; none for nginx + nchan), each in its own
 * process, started fresh for each measurement.
 */
import type { RedisServer } from '@switchboard/testkit';
import { track, untrack } from '../node-process.js';
import type { Scenario } from '../options.js';

/**
 * How the load generator speaks to a system: seed-protocol text frames over ws
 * (JSON frames back), socket.io-client, or raw text frames both ways (nchan).
 */
export type ClientKind = 'ws-json' | 'socket.io' | 'ws-text';

/** One server of a system: a Node.js process, or nginx (its master and workers). */
export interface ServerProcess {
  readonly label: string;
  /** Its OS processes, whose CPU is the system's: one, or nginx's master and its workers. */
  readonly pids: readonly number[];
  /** Every line it printed, in order (warnings and errors). */
  readonly output: readonly string[];
  /** Signal it (SIGKILL unless told) and wait until it and its own processes are gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

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
  /** The scenarios it can run; every one when absent. */
  readonly scenarios?: readonly Scenario[];
  /** Why it cannot run on this machine (a program not installed), checked before each measurement; undefined when it can. */
  missing?(): string | undefined;
  start(options: StartOptions): Promise<RunningSystem>;
}

export class RunningSystem {
  constructor(
    readonly nodes: readonly ServerProcess[],
    /** What a client connects to, one per node. */
    readonly urls: readonly string[],
    /** One redis-server, or every master of a Redis Cluster (its shards); none (nchan). */
    readonly redis: readonly RedisServer[],
    /** Run once everything has stopped (remove a folder of its own). */
    private readonly cleanup: () => void = () => undefined,
  ) {
    for (const server of redis) track(server.pid!);
  }

  /** Every OS process of the nodes (nginx: master and workers), node by node. */
  get nodePids(): number[] {
    return this.nodes.flatMap((n) => n.pids);
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
    this.cleanup();
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

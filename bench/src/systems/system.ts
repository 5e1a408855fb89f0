/**
 * A system under test: N server nodes and the redis-server they share, each in
 * its own process, started fresh for each measurement.
 */
import type { RedisServer } from '@switchboard/testkit';
import type { NodeProcess } from '../node-process.js';

/** How the load generator speaks to a system: seed-protocol text frames over ws, or socket.io-client. */
export type ClientKind = 'ws-json' | 'socket.io';

export interface StartOptions {
  /** Gateway processes, each on its own port of 127.0.0.1. */
  readonly nodes: number;
  /** The comparison servers broadcast "X has connected" on each join, as Switchboard does. */
  readonly joinNotices: boolean;
  /** Write a V8 CPU profile of each node into this folder (on stop). */
  readonly cpuProfileDir?: string;
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
    readonly redis: RedisServer,
  ) {}

  get nodePids(): number[] {
    return this.nodes.map((n) => n.pid);
  }

  get redisPid(): number {
    return this.redis.pid!;
  }

  /** SIGKILL one node: it dies without closing anything. */
  async kill(node: number): Promise<void> {
    await this.nodes[node]!.stop('SIGKILL');
  }

  /** Stop every node (SIGINT when profiling, so the profile is written; else SIGKILL), then Redis. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(signal)));
    await this.redis.dispose();
  }
}

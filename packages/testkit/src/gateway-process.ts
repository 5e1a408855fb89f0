import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventLog, linesOf } from './event-log.js';

/** One pino line from a gateway's stdout. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly module?: string;
  readonly conn?: string;
  readonly [key: string]: unknown;
}

export interface GatewayOptions {
  /** Extra environment (REDIS_URL, NODE_ID, limits...). PORT defaults to 0, HOST to 127.0.0.1. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** The gateway's entry file; the built one in this repository by default. */
  readonly entry?: string;
  /** How long to wait for "gateway ready", in ms. */
  readonly readyTimeoutMs?: number;
  /**
   * Lift the per-address admission limits (MAX_CONNECTIONS_PER_IP,
   * CONNECTION_RATE_PER_IP, CONNECTION_BURST_PER_IP; `env` still wins): true by
   * default, because every test client comes from 127.0.0.1, so the limits
   * meant for one person would apply to a whole test. The abuse suite and the
   * local cluster keep them.
   */
  readonly liftAddressLimits?: boolean;
}

/**
 * No shedding for event-loop lag unless a test asks for it: test machines are
 * shared and busy, and a node that refused upgrades whenever the machine hiccuped
 * would make every test that connects flaky. The overload test sets its own.
 * Likewise the delivery watchdog waits longer than its default for a shard's
 * probe: on a loaded machine a busy node heard its own probe late and said not
 * ready (503 to new clients) in tests about something else; the failover and
 * watchdog tests set their own.
 */
export const NO_LAG_SHEDDING: Readonly<Record<string, string>> = { MAX_EVENT_LOOP_LAG_MS: '0', SHARD_PROBE_TIMEOUT_MS: '10000' };

/** Per-address limits no test reaches (see GatewayOptions.liftAddressLimits). */
export const LIFTED_ADDRESS_LIMITS: Readonly<Record<string, string>> = {
  MAX_CONNECTIONS_PER_IP: '1000000',
  CONNECTION_RATE_PER_IP: '1000000',
  CONNECTION_BURST_PER_IP: '1000000',
};

/**
 * Housekeeping made rare, for a test that counts a node's Redis commands: nothing
 * periodic touches Redis (sweeps, leases, shard probes, replica counts), so Redis
 * hears from the node only for its clients.
 */
export const QUIET_GATEWAY_ENV: Readonly<Record<string, string>> = {
  SWEEP_INTERVAL_MS: '600000',
  LEASE_TTL_MS: '600000',
  SHARD_PROBE_INTERVAL_MS: '300000',
  SHARD_PROBE_TIMEOUT_MS: '600000',
  REDIS_MIN_REPLICAS_ACK: '0',
};

/** Default wait for a gateway to become ready, in ms: generous, for a loaded 2-core machine. */
export const READY_TIMEOUT_MS = 30_000;

/**
 * The Node flags a gateway runs with, as in its Dockerfile and `npm start`: V8's
 * young generation capped at 2 MiB per semi-space, and its heap sized for memory
 * rather than speed, so a node holding thousands of idle connections keeps no
 * nursery or old-space slack it rarely needs (bench/RESULTS.md: RSS per idle
 * connection; no CPU cost seen in fan-out, more in a join storm). The garbage
 * collector works on the main thread only: with a heap this small its helper
 * threads cost more in wake-ups than they saved (about 5-10 % of fan-out CPU).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--optimize-for-size', '--single-threaded-gc'];

/**
 * The gateway's entry file: this repository's build, or E2E_GATEWAY_ENTRY (to
 * run a suite against another build of the gateway).
 */
export const GATEWAY_ENTRY =
  process.env.E2E_GATEWAY_ENTRY || fileURLToPath(new URL('../../../services/gateway/dist/main.js', import.meta.url));

/**
 * A real gateway node in its own process. start() resolves once it has logged
 * "gateway ready" (listening, bus connected), with the port it bound.
 */
export class GatewayProcess {
  readonly logs: EventLog<LogLine>;
  private stderr = '';
  /** Whether it serves HTTPS and WSS (TLS_CERT, TLS_KEY), as its `listening` line says. */
  tls = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    public port = 0,
  ) {
    this.logs = linesOf(child.stdout!, parseLogLine);
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    // TEST_GATEWAY_LOGS=<dir>: every gateway's log lines, one ndjson file per process (and its stderr beside it, if any), once its output has ended.
    const dir = process.env.TEST_GATEWAY_LOGS;
    if (dir) {
      child.once('close', () => {
        mkdirSync(dir, { recursive: true });
        const name = `${this.nodeId || 'gateway'}-${this.port}-${child.pid ?? 0}.ndjson`;
        writeFileSync(join(dir, name), this.logs.items.map((l) => JSON.stringify(l)).join('\n') + '\n');
        if (this.stderr !== '') writeFileSync(join(dir, name.replace(/\.ndjson$/, '.stderr')), this.stderr);
      });
    }
  }

  static async start(options: GatewayOptions = {}): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, options.entry ?? GATEWAY_ENTRY, ...(options.args ?? [])], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        // Tests wait on a connection's steps (opened, joined, left), which a node logs at debug.
        LOG_LEVEL: 'debug',
        ...NO_LAG_SHEDDING,
        ...(options.liftAddressLimits !== false && LIFTED_ADDRESS_LIMITS),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gateway = new GatewayProcess(child);
    const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    try {
      const listening = await gateway.logs.waitFor((l) => l.msg.startsWith('listening'), timeoutMs, 'the gateway to listen');
      gateway.port = listening.port as number;
      gateway.tls = listening.scheme === 'https';
      await gateway.logs.waitFor((l) => l.msg === 'gateway ready', timeoutMs, 'the gateway to be ready');
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\nstderr: ${gateway.stderr}`, { cause: err });
    }
    return gateway;
  }

  /**
   * Wait until the node is ready as a whole (bus and session store up, not
   * draining: the moment it accepts upgrades), as logged after log line `from`.
   * Take `from` (logs.items.length) before causing the outage, so a ready line
   * from before it does not count.
   */
  async waitUntilReady(from: number, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const changes = this.logs.items.slice(from).filter((l) => l.msg === 'gateway ready' || l.msg === 'gateway not ready');
    if (changes.at(-1)?.msg === 'gateway ready') return;
    const at = this.logs.items.length;
    await this.logs.waitFor((l) => l.msg === 'gateway ready', timeoutMs, `${this.nodeId || 'the gateway'} to be ready again`, at);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get nodeId(): string {
    const ready = this.logs.items.find((l) => l.msg === 'gateway ready');
    return typeof ready?.node === 'string' ? ready.node : '';
  }

  /** The metrics server (METRICS_PORT), as logged; throws if the node runs without one. */
  get metricsUrl(): string {
    const line = this.logs.items.find((l) => typeof l.metricsPort === 'number');
    if (!line) throw new Error(`${this.nodeId || 'the gateway'} runs no metrics server (start it with METRICS_PORT)`);
    return `http://127.0.0.1:${line.metricsPort as number}`;
  }

  /** `ws://`, or `wss://` with TLS. */
  get wsUrl(): string {
    return `${this.tls ? 'wss' : 'ws'}://127.0.0.1:${this.port}/ws`;
  }

  /** `http://`, or `https://` with TLS. */
  get httpUrl(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get stderrText(): string {
    return this.stderr;
  }

  /** Send a signal and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** SIGKILL: the node dies without closing anything. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.stop('SIGKILL');
  }
}

function parseLogLine(text: string): LogLine | undefined {
  try {
    const value = JSON.parse(text) as LogLine;
    return typeof value.msg === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

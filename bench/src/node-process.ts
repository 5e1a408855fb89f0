/**
 * A Node.js program in its own OS process (so /proc can tell its CPU and RSS
 * apart), with the open-file limit raised to the hard limit: 10,000 sockets need
 * 10,000 descriptors in the server and as many in the load generator.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';

export interface NodeProcessOptions {
  /** Environment added to this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node's own flags (--cpu-prof...). */
  readonly execArgv?: readonly string[];
  /** Open an IPC channel (process.send) to the child. */
  readonly ipc?: boolean;
  /** What the child's output is prefixed with on our stderr. */
  readonly label: string;
}

/** Every process the bench started and has not seen exit: killed if the bench itself is stopped. */
const started = new Set<number>();

/** Count `pid` as ours until untrack(): killTracked() ends it. */
export function track(pid: number): void {
  started.add(pid);
}

export function untrack(pid: number): void {
  started.delete(pid);
}

/** SIGKILL every process the bench started that still runs (on Ctrl-C or SIGTERM of the bench). */
export function killTracked(): void {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** How often readiness is polled, and for how long at most, in ms. */
const READY_POLL_MS = 100;
const READY_TIMEOUT_MS = 30_000;

/** Poll `url` until it answers 200; rejects once `running` says the server (`what`) exited, or time runs out. */
export async function waitForHttp(url: string, running: () => boolean, what: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running()) throw new Error(`${what} exited before ${url} answered`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await delay(READY_POLL_MS);
  }
}

export class NodeProcess {
  readonly exited: Promise<void>;
  /** Every line it printed, in order (servers run at LOG_LEVEL=warn: these are warnings and errors). */
  readonly output: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    track(child.pid!);
    this.exited = once(child, 'exit').then(() => untrack(child.pid!));
  }

  /** Start `script` with node; `sh` raises the soft fd limit, then `exec`s node (same pid). */
  static start(script: string, args: readonly string[], options: NodeProcessOptions): NodeProcess {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])];
    const child = spawn(
      'sh',
      ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...(options.execArgv ?? []), script, ...args],
      { env: { ...process.env, ...options.env }, stdio },
    );
    const node = new NodeProcess(child, options.label);
    // Servers log at warn and above only; show it, marked, so a run's oddities are visible.
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          node.output.push(line);
          process.stderr.write(`  [${options.label}] ${line.slice(0, 300)}\n`);
        }
      });
    }
    return node;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Its one OS process, as a system's server (ServerProcess). */
  get pids(): number[] {
    return [this.child.pid!];
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Poll `url` until it answers 200; rejects if the process exits or time runs out. */
  waitForHttp(url: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    return waitForHttp(url, () => this.running, `process ${this.pid}`, timeoutMs);
  }

  /** Send a signal and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}

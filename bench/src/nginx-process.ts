/**
 * nginx in the foreground (`daemon off`, master and workers), from a folder of
 * its own (`-p`) with a configuration written there (`-c`), errors to stderr
 * (`-e stderr`): never the system's /etc/nginx, /run/nginx.pid or /var/log/nginx.
 * Its open-file limit is raised to the hard limit, as for the Node servers. Its
 * CPU is its master's and its workers', found by their parent once it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { track, untrack, waitForHttp } from './node-process.js';
import { childPids, processGone } from './proc-stats.js';
import type { ServerProcess } from './systems/system.js';

/** How long a signalled nginx has to exit before it and its workers are SIGKILLed, ms. */
const STOP_TIMEOUT_MS = 5_000;
/** How often the workers are looked at while waiting for them to go, ms. */
const GONE_POLL_MS = 50;

export class NginxProcess implements ServerProcess {
  readonly output: string[] = [];
  private readonly exited: Promise<void>;
  private workers: number[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly label: string,
  ) {
    track(child.pid!);
    this.exited = once(child, 'exit').then(() => untrack(child.pid!));
  }

  /** Start `binary` on `configFile`, with `prefix` as its folder. */
  static start(binary: string, prefix: string, configFile: string, label: string): NginxProcess {
    const child = spawn(
      'sh',
      ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', binary, '-p', prefix, '-c', configFile, '-e', 'stderr'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const nginx = new NginxProcess(child, label);
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          nginx.output.push(line);
          process.stderr.write(`  [${label}] ${line.slice(0, 300)}\n`);
        }
      });
    }
    return nginx;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The master, then its workers (known once waitForHttp() has resolved). */
  get pids(): number[] {
    return [this.child.pid!, ...this.workers];
  }

  /** Poll `url` until it answers 200, then note the workers; rejects (with what nginx said) if it exits first. */
  async waitForHttp(url: string): Promise<void> {
    try {
      await waitForHttp(url, () => this.running, `nginx (${this.label})`);
    } catch (err) {
      throw new Error(`${(err as Error).message}${this.output.length ? `: ${this.output.slice(-3).join(' / ')}` : ''}`, { cause: err });
    }
    this.workers = childPids(this.child.pid!);
    for (const pid of this.workers) track(pid);
    if (this.workers.length === 0) throw new Error(`nginx (${this.label}) answers, but has no worker process`);
  }

  /**
   * SIGKILL (the default) kills the master and its workers at once; another
   * signal goes to the master (SIGTERM: fast shutdown, SIGQUIT: graceful), and
   * whatever still runs after STOP_TIMEOUT_MS is SIGKILLed. Resolves once all are gone.
   */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const workers = this.workers.length > 0 ? this.workers : this.running ? childPids(this.child.pid!) : [];
    if (this.running) this.child.kill(signal);
    if (signal === 'SIGKILL') kill(workers);
    else if (!(await Promise.race([this.exited.then(() => true), delay(STOP_TIMEOUT_MS, false)]))) {
      this.child.kill('SIGKILL');
      kill(workers);
    }
    await this.exited;
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (workers.some((pid) => !processGone(pid)) && Date.now() < deadline) await delay(GONE_POLL_MS);
    kill(workers.filter((pid) => !processGone(pid)));
    for (const pid of workers) untrack(pid);
  }
}

function kill(pids: readonly number[]): void {
  for (const pid of pids)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
}

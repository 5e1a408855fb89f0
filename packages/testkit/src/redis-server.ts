import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { linesOf } from './event-log.js';

export interface RedisServerOptions {
  /** Port to use; a free one by default. Kept across restart(). */
  readonly port?: number;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  readonly args?: readonly string[];
  /** The redis-server binary (REDIS_SERVER_BIN, else from PATH). */
  readonly binary?: string;
  /**
   * Run as a Redis Sentinel (`--sentinel`) with this configuration file (it
   * must be writable: Sentinel rewrites it). Ready once it logs its Sentinel ID.
   */
  readonly sentinelConfig?: string;
}

const START_TIMEOUT_MS = 10_000;

/**
 * A real redis-server of the test's own, on a free port of 127.0.0.1, in a temp
 * folder. It can be stopped, killed and restarted on the same port.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether the process runs (started, not stopped or killed since). */
  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Run one command with redis-cli (REDIS_CLI_BIN, else from PATH) and return its raw output. */
  cli(...args: string[]): Promise<string> {
    const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
    return new Promise((resolve, reject) => {
      execFile(binary, ['-h', '127.0.0.1', '-p', String(this.port), ...args], (err, stdout) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}`, { cause: err }));
        else resolve(stdout);
      });
    });
  }

  /**
   * Run several commands on ONE connection (redis-cli reading them from its
   * stdin, one per line, words split on spaces): what a command that depends on
   * the connection needs, such as WAIT after a write. Resolves with the raw output.
   */
  cliSession(commands: readonly string[]): Promise<string> {
    const binary = process.env.REDIS_CLI_BIN ?? 'redis-cli';
    return new Promise((resolve, reject) => {
      const child = execFile(binary, ['-h', '127.0.0.1', '-p', String(this.port)], (err, stdout) => {
        if (err) reject(new Error(`redis-cli ${commands.join('; ')}: ${err.message}`, { cause: err }));
        else resolve(stdout);
      });
      child.stdin!.end(commands.map((c) => `${c}\n`).join(''));
    });
  }

  /** Stop (SIGTERM) and wait for the process to exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kill (SIGKILL) and wait: as if the host died. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Start again on the same port (after stop or kill). */
  async restart(): Promise<void> {
    await this.launch();
  }

  /** Stop and remove the temp folder. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const binary = this.options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
    const sentinel = this.options.sentinelConfig;
    const common = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--loglevel', 'notice'];
    const child = spawn(
      binary,
      sentinel === undefined
        ? [...common, '--save', '', '--appendonly', 'no', ...(this.options.args ?? [])]
        : [sentinel, '--sentinel', ...common, ...(this.options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.child = child;
    const output = linesOf(child.stdout, (line) => line);
    const spawnError = once(child, 'error').then(([err]) => {
      throw new Error(`cannot start ${binary}: ${(err as Error).message}`);
    });
    const ready = sentinel === undefined ? 'Ready to accept connections' : 'Sentinel ID is';
    await Promise.race([output.waitFor((line) => line.includes(ready), START_TIMEOUT_MS, 'redis-server to be ready'), spawnError]);
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
    this.child = undefined;
  }
}

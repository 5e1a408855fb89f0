import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { EventLog } from './event-log.js';
import { eventually } from './eventually.js';

export interface HaproxyOptions {
  /** Configuration files, loaded in order (`-f` each). */
  readonly configFiles: readonly string[];
  /** Where the config serves its stats page (`stats uri`); start() waits until it answers. */
  readonly statsUrl: string;
  /** Extra environment, for `"${VAR}"` in the config (LB_BIND...). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The haproxy binary (HAPROXY_BIN, else from PATH). */
  readonly binary?: string;
  /** Called with each line HAProxy prints (its logs and warnings), as it comes. */
  readonly onLine?: (line: string) => void;
  /** How long start() waits for the stats page, in ms. */
  readonly startTimeoutMs?: number;
}

/** One server of a backend, from HAProxy's stats CSV. */
export interface ServerStat {
  readonly backend: string;
  readonly name: string;
  /** `UP`, `DOWN`, `MAINT`, `no check`, or a transition such as `UP 1/2`. */
  readonly status: string;
  /** The last health check's result, e.g. `L7OK`, `L4CON`; `* ` in front while one runs. */
  readonly checkStatus: string;
  /** Connections open now, and served in all. */
  readonly current: number;
  readonly total: number;
}

/** How often the stats page is read while waiting on it, in ms. */
const STATS_POLL_MS = 100;

/**
 * A real HAProxy in the foreground (`-db`), its output kept as lines. Its state
 * is read from its stats page, which the configuration must serve.
 */
export class HaproxyProcess {
  readonly output: EventLog<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly statsUrl: string,
    onLine: (line: string) => void = () => undefined,
  ) {
    this.output = new EventLog<string>();
    let open = 2;
    for (const input of [child.stdout!, child.stderr!]) {
      const lines = createInterface({ input });
      lines.on('line', (line) => {
        this.output.push(line);
        onLine(line);
      });
      lines.on('close', () => {
        if (--open === 0) this.output.end();
      });
    }
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  static async start(options: HaproxyOptions): Promise<HaproxyProcess> {
    const binary = haproxyBinary(options.binary);
    const child = spawn(binary, ['-db', ...options.configFiles.flatMap((file) => ['-f', file])], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const haproxy = new HaproxyProcess(child, options.statsUrl, options.onLine);
    const failed = Promise.race([
      once(child, 'error').then(([err]) => {
        throw new Error(missingBinaryMessage(binary, err as NodeJS.ErrnoException));
      }),
      haproxy.exited.then(({ code, signal }) => {
        throw new Error(`haproxy exited (${code ?? signal}) before serving its stats:\n${haproxy.output.items.join('\n')}`);
      }),
    ]);
    failed.catch(() => undefined);
    try {
      const timeoutMs = options.startTimeoutMs ?? 10_000;
      await Promise.race([
        eventually(() => haproxy.servers(), { timeoutMs, intervalMs: STATS_POLL_MS, what: `HAProxy's stats at ${haproxy.statsUrl}` }),
        failed,
      ]);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return haproxy;
  }

  /** `haproxy -c`: whether the configuration is valid, and what HAProxy said. */
  static async check(
    configFiles: readonly string[],
    env: Readonly<Record<string, string | undefined>> = {},
    binary?: string,
  ): Promise<{ valid: boolean; output: string }> {
    const { status, output } = await run(binary, ['-c', ...configFiles.flatMap((file) => ['-f', file])], env);
    return { valid: status === 0, output };
  }

  /** `haproxy -v`'s first line; rejects, saying how to install it, when there is no haproxy. */
  static async version(binary?: string): Promise<string> {
    const { output } = await run(binary, ['-v'], {});
    return output.split('\n')[0] ?? '';
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The servers of `backend` (of every backend when undefined), read from the stats CSV. */
  async servers(backend?: string): Promise<ServerStat[]> {
    const response = await fetch(`${this.statsUrl};csv`);
    if (!response.ok) throw new Error(`stats answered ${response.status}`);
    return parseStatsCsv(await response.text()).filter((s) => backend === undefined || s.backend === backend);
  }

  /**
   * Read the stats until `backend`'s servers satisfy `ready`; rejects after
   * `timeoutMs` with the last reading.
   */
  waitForServers(
    backend: string,
    ready: (servers: readonly ServerStat[]) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<ServerStat[]> {
    return eventually(
      async () => {
        const servers = await this.servers(backend);
        if (ready(servers)) return servers;
        throw new Error(`${backend}: ${servers.map((s) => `${s.name}=${s.status}/${s.checkStatus}`).join(' ') || 'no servers'}`);
      },
      { timeoutMs, intervalMs: STATS_POLL_MS, what },
    );
  }

  /** Send a signal and wait for the exit (SIGTERM and SIGINT stop HAProxy at once). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** A server that passed its latest health check and takes traffic. */
export function isServerUp(server: ServerStat): boolean {
  return server.status === 'UP' && server.checkStatus.endsWith('L7OK');
}

/** Run haproxy to completion: its exit status and everything it printed. */
function run(
  binary: string | undefined,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ status: number | null; output: string }> {
  const bin = haproxyBinary(binary);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (err) => reject(new Error(missingBinaryMessage(bin, err))));
    child.once('close', (status) => resolve({ status, output }));
  });
}

function haproxyBinary(binary?: string): string {
  return binary ?? process.env.HAPROXY_BIN ?? 'haproxy';
}

function missingBinaryMessage(binary: string, err: NodeJS.ErrnoException): string {
  return err.code === 'ENOENT'
    ? `cannot start ${binary}: not found (install HAProxy: apt-get install haproxy)`
    : `cannot start ${binary}: ${err.message}`;
}

/** HAProxy's stats CSV: a `# pxname,svname,...` header, then one row per proxy or server. */
function parseStatsCsv(text: string): ServerStat[] {
  const [header, ...rows] = text.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const at = (name: string): number => columns.indexOf(name);
  const [px, sv, status, check, scur, stot] = ['pxname', 'svname', 'status', 'check_status', 'scur', 'stot'].map(at);
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells[sv!] !== 'FRONTEND' && cells[sv!] !== 'BACKEND')
    .map((cells) => ({
      backend: cells[px!] ?? '',
      name: cells[sv!] ?? '',
      status: cells[status!] ?? '',
      checkStatus: cells[check!] ?? '',
      current: Number(cells[scur!] ?? 0),
      total: Number(cells[stot!] ?? 0),
    }));
}

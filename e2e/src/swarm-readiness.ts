import { spawn, type ChildProcess } from 'node:child_process';
import { EventLog, linesOf } from '@switchboard/testkit';

/** One look at every task of the gateway service: how many Swarm's DNS lists, how many answer /readyz with 200. */
export interface ReadinessSample {
  /** ms since the epoch, on the watcher's clock (the host's). */
  readonly at: number;
  readonly tasks: number;
  readonly ready: number;
  /** Each task's address and what its /readyz said (200, or the status and the reason, or the error); `lookup` and the error if DNS gave no answer. */
  readonly answers: Readonly<Record<string, number | string>>;
}

/** How often the watcher looks, ms. */
const SAMPLE_INTERVAL_MS = 250;
/** A /readyz that has not answered in this long counts as not ready, ms (HAProxy's `timeout check`). */
const READYZ_TIMEOUT_MS = 2_000;

/**
 * The watcher, run by node inside a container on the stack's `admin` network
 * (the gateways publish no port, so nothing outside a container of the swarm
 * can reach them): every SAMPLE_INTERVAL_MS it asks Swarm's DNS for every task
 * of the service (tasks.NAME; Swarm lists the running ones), GETs each one's
 * /readyz, and prints one JSON line.
 * It stops when its standard input closes.
 */
const WATCHER = `
const { Resolver } = require('node:dns').promises;
const http = require('node:http');
const name = process.env.WATCH_NAME, port = Number(process.env.WATCH_PORT);
const every = Number(process.env.WATCH_EVERY_MS), timeout = Number(process.env.WATCH_TIMEOUT_MS);
// Swarm's DNS (the container's resolver), asked once, given as long as a /readyz.
const resolver = new Resolver({ timeout, tries: 1 });
const readyz = (host) => new Promise((resolve) => {
  const req = http.get({ host, port, path: '/readyz', timeout }, (res) => {
    if (res.statusCode === 200) { res.resume(); resolve(200); return; }
    // Not ready: the status and the gateway's reason (its body: {"status":"not ready","reason":"..."}).
    let body = '';
    res.setEncoding('utf8').on('data', (chunk) => { body += chunk; }).on('end', () => {
      let reason = body.slice(0, 100);
      try { reason = JSON.parse(body).reason ?? reason; } catch {}
      resolve(res.statusCode + ' ' + reason);
    });
  });
  req.on('timeout', () => { req.destroy(); resolve('timeout'); });
  req.on('error', (err) => resolve(err.code || err.message));
});
let stopped = false;
process.stdin.on('end', () => { stopped = true; process.exit(0); }).resume();
(async () => {
  while (!stopped) {
    const started = Date.now();
    let addresses = [];
    let failed;
    try {
      addresses = await resolver.resolve4(name);
    } catch (err) {
      // No answer: no gateway can be reached by the name, none counts as ready.
      failed = err.code || err.message;
    }
    const statuses = await Promise.all(addresses.map(readyz));
    const answers = failed ? { lookup: failed } : Object.fromEntries(addresses.map((a, i) => [a, statuses[i]]));
    const ready = statuses.filter((s) => s === 200).length;
    process.stdout.write(JSON.stringify({ at: Date.now(), tasks: addresses.length, ready, answers }) + '\\n');
    await new Promise((r) => setTimeout(r, Math.max(0, every - (Date.now() - started))));
  }
})();
`;

/**
 * The gateways' readiness as seen from inside the swarm, sampled all along: a
 * container of `image` (any image with node 18+ on PATH: the gateway's) on
 * `network`, looking at `tasks.<service>` on `port`.
 */
export class ReadinessWatch {
  readonly samples: EventLog<ReadinessSample>;
  private readonly child: ChildProcess;
  private readonly stderr: string[] = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    this.samples = linesOf(child.stdout!, (line) => {
      try {
        return JSON.parse(line) as ReadinessSample;
      } catch {
        return undefined;
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
  }

  static start(options: { image: string; network: string; service: string; port: number }): ReadinessWatch {
    const child = spawn(
      'docker',
      [
        'run',
        '--rm',
        '-i',
        '--network',
        options.network,
        '--entrypoint',
        'node',
        '-e',
        `WATCH_NAME=tasks.${options.service}`,
        '-e',
        `WATCH_PORT=${options.port}`,
        '-e',
        `WATCH_EVERY_MS=${SAMPLE_INTERVAL_MS}`,
        '-e',
        `WATCH_TIMEOUT_MS=${READYZ_TIMEOUT_MS}`,
        options.image,
        '-e',
        WATCHER,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    return new ReadinessWatch(child);
  }

  /** The first sample (from now on) in which `ready` tasks or more answer 200. */
  async waitForReady(ready: number, timeoutMs: number): Promise<ReadinessSample> {
    try {
      return await this.samples.waitFor(
        (s) => s.ready >= ready,
        timeoutMs,
        `${ready} gateways to answer /readyz`,
        this.samples.items.length,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; last sample: ${JSON.stringify(this.samples.items.at(-1))}; watcher: ${this.stderr.join('')}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Samples taken between `from` and `to` (ms since the epoch). */
  between(from: number, to: number): ReadinessSample[] {
    return this.samples.items.filter((s) => s.at >= from && s.at <= to);
  }

  /** Close the watcher's standard input: it exits, and its container is removed. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await exited;
  }
}

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientEvents } from '@switchboard/client';
import { watch, within } from '@switchboard/testkit';
import { Probe } from './chaos-probe.js';
import { countBy, evidence, type Line, type Report } from './chaos-report.js';
import { openChaosTarget, type ChaosTarget, type ChaosTargetOptions } from './chaos-target.js';

/** Each client sends a line this often. */
export const SEND_INTERVAL_MS = 500;
/** Steady sending before the first blow and after each recovery: the time clients get to settle. */
export const STEADY_MS = 3_000;
const RECOVER_TIMEOUT_MS = 30_000;
const QUIESCE_TIMEOUT_MS = 30_000;

/**
 * One run of a chaos scenario: SDK clients (Probes) through the load balancer,
 * every one sending a line each SEND_INTERVAL_MS, while the scenario hurts and
 * heals the cluster (blow); then every line settled, and a report of what each
 * client ended up with.
 */
export class ChaosRun {
  readonly probes: Probe[] = [];
  readonly lines = new Map<string, Line>();
  /** Lines the SDK would not even queue (it throws at once). */
  readonly notQueued: string[] = [];
  private readonly started = Date.now();
  private sendingMs = 0;

  /**
   * `sendIntervalMs`: how often each client sends a line (SEND_INTERVAL_MS by
   * default); `settleTimeoutMs`: how long stopSending() waits for every line to
   * be acknowledged, and quiesce() for every client to deliver them
   * (QUIESCE_TIMEOUT_MS by default).
   */
  constructor(
    readonly target: ChaosTarget,
    readonly sendIntervalMs = SEND_INTERVAL_MS,
    readonly settleTimeoutMs = QUIESCE_TIMEOUT_MS,
  ) {}

  log(text: string): void {
    console.error(`chaos +${((Date.now() - this.started) / 1000).toFixed(1)}s: ${text}`);
  }

  /** Connect `count` clients one by one: with least-connections the balancer spreads them over every gateway. */
  async connect(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const probe = new Probe(this.probes.length, this.target.wsUrl, this.target.ca);
      this.probes.push(probe);
      await within(probe.client.connect(), RECOVER_TIMEOUT_MS, `client ${probe.index} to connect`);
    }
    const spread = countBy(this.probes.map((p) => p.node));
    this.log(`${count} clients on ${[...spread].map(([n, c]) => `${n}=${c}`).join(' ')}`);
    assert.equal(spread.size, this.target.gateways, `clients landed on ${[...spread.keys()].join(', ')} only`);
    assert.ok(
      this.probes.every((p) => p.client.protocol === 'v2'),
      'every client speaks v2',
    );
  }

  /** Every client sends a line each sendIntervalMs (staggered), until stopSending(). */
  startSending(): void {
    const count = this.probes.length;
    const every = this.sendIntervalMs;
    this.probes.forEach((probe, i) => {
      setTimeout(
        () => {
          if (probe.client.state !== 'closed') probe.timer = setInterval(() => this.sendOne(probe), every);
        },
        (i * every) / count,
      );
    });
  }

  /** Run a blow; wait until every client it dropped is welcomed again, and the balancer sees every gateway; then STEADY_MS. */
  async blow(what: string, victim: string | undefined, hurt: () => Promise<void>, heal: () => Promise<void>): Promise<void> {
    const dropped = this.probes.filter((p) => p.node === victim);
    const back = dropped.map((p) =>
      watch<ClientEvents>(p.client).next('welcome', () => true, RECOVER_TIMEOUT_MS, `client ${p.index} to be welcomed again after ${what}`),
    );
    this.log(`${what}${victim ? ` (${dropped.length} clients on it)` : ''}`);
    await hurt();
    await Promise.all(back);
    this.log(`${what}: every dropped client is back`);
    await heal();
    await this.target.settled();
    await within(Promise.all(this.probes.map((p) => p.client.whenOpen())), RECOVER_TIMEOUT_MS, 'every client to be open');
    this.log(`${what}: healed, every gateway up again`);
    await delay(STEADY_MS);
  }

  /** The blow of a SIGKILL: `node` (the first client's gateway by default) dies, its clients resume elsewhere, it starts again. */
  async killAndRestart(node = this.probes[0]!.node): Promise<string> {
    await this.blow(
      `SIGKILL ${node}`,
      node,
      () => this.target.kill(node),
      () => this.target.restart(node),
    );
    return node;
  }

  /** Stop sending; wait until every line is acknowledged or refused (or settleTimeoutMs, logged). */
  async stopSending(): Promise<void> {
    for (const p of this.probes) clearInterval(p.timer);
    this.sendingMs = Date.now() - this.started;
    await within(
      Promise.all(
        this.probes.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.client.pending === 0) {
                resolve();
                return;
              }
              const settle = () => {
                if (p.client.pending !== 0) return;
                off();
                resolve();
              };
              const off = p.client.on('acked', settle);
              p.client.on('rejected', settle);
            }),
        ),
      ),
      this.settleTimeoutMs,
      'every line to be acknowledged or refused',
    ).catch((err: Error) => this.log(err.message));
  }

  /** The last seq given to a line of `group` (clients of one room); resolves once every one of them has delivered it. */
  async quiesce(group: readonly Probe[]): Promise<number> {
    const senders = new Set(group.map((p) => p.index));
    const finalSeq = Math.max(...[...this.lines.values()].filter((l) => senders.has(l.client)).map((l) => l.seq ?? 0));
    await Promise.all(
      group.map((p) =>
        p.delivered
          .waitFor((d) => d.seq >= finalSeq, this.settleTimeoutMs, `client ${p.index} to reach seq ${finalSeq}`)
          .catch((err: Error) => this.log(err.message)),
      ),
    );
    this.log(`quiet at seq ${finalSeq}${group.length < this.probes.length ? ` in #${group[0]?.room}` : ''}`);
    return finalSeq;
  }

  /** Lines per second sent while sending. */
  get rate(): number {
    return (this.lines.size + this.notQueued.length) / (this.sendingMs / 1000);
  }

  /** The table of `report` (and the evidence, if anything went wrong), printed and written to `file`. */
  writeReport(title: string, report: Report, file: URL): string {
    const errorCount = (code: string) => this.probes.reduce((n, p) => n + (p.errors.get(code) ?? 0), 0);
    const table = [
      ['lines sent', this.lines.size + this.notQueued.length],
      ['delivered (to all clients of the room)', report.deliveredToAll],
      ['lost', report.lost.length],
      ['duplicated', report.duplicated.length],
      ['out of order', report.outOfOrder.length],
      ['gaps', report.gaps.length],
      ['acknowledged, then lost', report.ackedLost.length],
      ['never acknowledged (nor refused)', report.neverAcked.length],
      ['refused', report.refused.length + this.notQueued.length],
      ['longest reconnect (close -> welcome), ms', Math.max(0, ...this.probes.flatMap((p) => p.reconnectMs))],
      ['reconnects', this.probes.reduce((n, p) => n + p.reconnectMs.length, 0)],
      ['sends retried after BUS_UNAVAILABLE / RATE_LIMITED', `${errorCount('BUS_UNAVAILABLE')} / ${errorCount('RATE_LIMITED')}`],
      ['resume failures', report.resumeFailures.length],
      ['disconnect notices for live clients', report.spuriousNotices.length],
      ['epoch changes', report.epochs.length],
      ['clients with another sequence', report.divergent.length],
      ['sending for, s', (this.sendingMs / 1000).toFixed(1)],
      ['lines per second', this.rate.toFixed(1)],
    ] as const;
    const text = [title, ...table.map(([k, v]) => `  ${k.padEnd(50)} ${v}`), ...evidence(report, this.target)].join('\n');
    console.error(text);
    mkdirSync(new URL('.', file), { recursive: true });
    writeFileSync(file, `${text}\n`);
    return text;
  }

  /** Nothing lost, duplicated, out of order or refused; every reconnect resumed; no one announced gone while resuming. */
  assertNothingLost(report: Report): void {
    assert.deepEqual(report.divergent, [], 'every client has the identical contiguous sequence');
    assert.deepEqual(report.lost, [], 'no line was lost');
    assert.deepEqual(report.duplicated, [], 'no line appears twice');
    assert.deepEqual(report.outOfOrder, [], 'nothing arrived out of order, on any connection');
    assert.deepEqual(report.gaps, [], 'no client saw a gap');
    assert.deepEqual([...report.refused, ...this.notQueued], [], 'no line was refused');
    assert.deepEqual(report.resumeFailures, [], 'every reconnect resumed its session');
    assert.deepEqual(report.spuriousNotices, [], 'no client was announced as gone while it was resuming');
  }

  /** Stop every timer and close every client. */
  async close(): Promise<void> {
    for (const p of this.probes) clearInterval(p.timer);
    await Promise.allSettled(this.probes.map((p) => p.client.close()));
  }

  private sendOne(probe: Probe): void {
    const text = `chaos c${probe.index} n${++probe.counter}`;
    const line: Line = { client: probe.index, status: 'pending', sentAt: Date.now() };
    try {
      const done = probe.client.send(text);
      this.lines.set(text, line);
      done.then(
        (ack) => Object.assign(line, { status: 'acked', seq: ack?.seq, ackedAt: Date.now() }),
        (err: Error & { code?: string }) => Object.assign(line, { status: 'refused', error: `${err.code}: ${err.message}` }),
      );
    } catch (err) {
      this.notQueued.push(`${text}: ${(err as Error).message}`);
    }
  }
}

/** A test file's chaos target, opened before its tests and closed after them, with the run started on it. */
export interface ChaosFixture {
  /**
   * Start the run on the target; it is closed (timers stopped, clients closed)
   * after the file's tests. Undefined when there is no target: the test `t` is
   * then skipped, saying why.
   */
  start(t: TestContext): ChaosRun | undefined;
}

/** Open the chaos target (see openChaosTarget) in the file's before hook; close the run and the target in its after hook. */
export function chaosFixture(options: ChaosTargetOptions = {}): ChaosFixture {
  let opened: { target: ChaosTarget } | { cannot: string } = { cannot: 'the chaos target was not opened' };
  let run: ChaosRun | undefined;
  before(async () => {
    opened = await openChaosTarget(process.env, options);
  });
  after(async () => {
    await run?.close();
    if ('target' in opened) await opened.target.close();
  });
  return {
    start: (t) => {
      if ('cannot' in opened) {
        t.skip(opened.cannot);
        return undefined;
      }
      run = new ChaosRun(opened.target);
      return run;
    },
  };
}

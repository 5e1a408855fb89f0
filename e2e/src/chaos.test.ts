import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { isBroadcastEvent, parseServerFrames, type BroadcastEvent } from '@switchboard/protocol';
import { SwitchboardClient, type ClientEvents } from '@switchboard/client';
import { EventLog, watch } from '@switchboard/testkit';
import { openChaosTarget, type ChaosTarget } from './chaos-target.js';
import { within } from './wait.js';

/**
 * Issue 5's proof: 30 SDK clients (protocol v2) through the load balancer, all
 * sending, while a gateway is SIGKILLed, another is drained, and Redis restarts.
 * Afterwards every client must hold the same contiguous sequence, with every
 * line sent in it exactly once.
 */
const CLIENTS = 30;
/** Each client sends a line this often: 30 clients, 60 lines per second in all. */
const SEND_INTERVAL_MS = 500;
/** Steady sending before the first blow and after each recovery: the time clients get to settle. */
const STEADY_MS = 3_000;
const RECOVER_TIMEOUT_MS = 30_000;
const QUIESCE_TIMEOUT_MS = 30_000;
const SCENARIO_TIMEOUT_MS = 170_000;
/**
 * How long Redis stays down in its restart: longer than LEASE_TTL_MS, so every
 * lease expires meanwhile, and long enough that lines sent then are refused with
 * BUS_UNAVAILABLE and retried.
 */
const REDIS_DOWN_MS = 2_500;
const REPORT = fileURLToPath(new URL('../../test-output/e2e-chaos.txt', import.meta.url));

interface Delivered {
  readonly seq: number;
  readonly epoch: string;
  readonly key: string;
}

interface Line {
  readonly client: number;
  status: 'pending' | 'acked' | 'refused';
  seq?: number;
  error?: string;
}

/** What one socket (one connection of a client) received, straight off the wire. */
interface Wire {
  start?: number;
  epoch?: string;
  resumed?: boolean;
  node?: string;
  problems: string[];
  last?: number;
}

/** One SDK client, everything it delivered, and everything its sockets received. */
class Probe {
  readonly client: SwitchboardClient;
  readonly delivered = new EventLog<Delivered>();
  readonly wires: Wire[] = [];
  readonly reconnectMs: number[] = [];
  readonly resumeFailures: string[] = [];
  readonly gaps: string[] = [];
  readonly nodes: string[] = [];
  /** Error frames by code: BUS_UNAVAILABLE and RATE_LIMITED are retried by the SDK. */
  readonly errors = new Map<string, number>();
  counter = 0;
  timer: ReturnType<typeof setInterval> | undefined;
  private lostAt: number | undefined;

  constructor(
    readonly index: number,
    url: string,
    ca: Buffer | undefined,
  ) {
    const wires = this.wires;
    class Tapped extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { ca });
        const wire: Wire = { problems: [] };
        wires.push(wire);
        this.on('message', (data: Buffer) => checkWire(wire, data.toString()));
      }
    }
    this.client = new SwitchboardClient({
      url,
      WebSocket: Tapped,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1_000 },
      sendRetry: { initialDelayMs: 100, maxDelayMs: 1_000 },
      connectTimeoutMs: 5_000,
    });
    const record = (e: BroadcastEvent) => this.delivered.push({ seq: e.seq, epoch: e.epoch, key: keyOf(e) });
    this.client.on('message', record);
    this.client.on('notification', record);
    this.client.on('nick_update', record);
    this.client.on('close', ({ willReconnect }) => {
      if (willReconnect) this.lostAt ??= Date.now();
    });
    this.client.on('welcome', (w) => {
      this.nodes.push(w.node);
      if (this.lostAt !== undefined) this.reconnectMs.push(Date.now() - this.lostAt);
      this.lostAt = undefined;
    });
    this.client.on('resumeFailed', (f) =>
      this.resumeFailures.push(`${f.reason} (since ${f.previous.since}, welcome seq ${f.welcome.seq})`),
    );
    this.client.on('gap', (g) => this.gaps.push(JSON.stringify(g)));
    this.client.on('error', (e) => this.errors.set(e.code, (this.errors.get(e.code) ?? 0) + 1));
  }

  get node(): string {
    return this.client.node ?? '?';
  }

  get lastSeq(): number {
    return this.delivered.items.at(-1)?.seq ?? 0;
  }
}

/** One connection's frames (v2: a text frame may carry a batch) must be: welcome, then broadcasts at welcome.seq + 1, + 2, ... */
function checkWire(wire: Wire, text: string): void {
  for (const frame of parseServerFrames(text)) {
    if (frame.type === 'welcome') {
      Object.assign(wire, { start: frame.seq, epoch: frame.epoch, resumed: frame.resumed, node: frame.node, last: frame.seq });
    } else if (isBroadcastEvent(frame)) {
      checkEvent(wire, frame);
    }
  }
}

function checkEvent(wire: Wire, frame: BroadcastEvent): void {
  const expected = (wire.last ?? 0) + 1;
  if (frame.epoch !== wire.epoch) wire.problems.push(`epoch ${frame.epoch} after ${wire.epoch} at seq ${frame.seq}`);
  else if (frame.seq < expected) wire.problems.push(`duplicate or out of order: seq ${frame.seq} after ${wire.last} (${keyOf(frame)})`);
  else if (frame.seq > expected) wire.problems.push(`gap: seq ${frame.seq} after ${wire.last}`);
  wire.last = Math.max(wire.last ?? 0, frame.seq);
}

function keyOf(e: BroadcastEvent): string {
  return `${e.type}|${e.id}|${e.message}`;
}

let opened: { target: ChaosTarget } | { cannot: string };
const probes: Probe[] = [];

before(async () => {
  opened = await openChaosTarget();
});

after(async () => {
  for (const p of probes) clearInterval(p.timer);
  await Promise.allSettled(probes.map((p) => p.client.close()));
  if ('target' in opened) await opened.target.close();
});

describe('chaos: 30 v2 clients sending through a SIGKILL, a drain and a Redis restart', { timeout: SCENARIO_TIMEOUT_MS }, () => {
  test(
    'every client ends with the same contiguous sequence holding every line exactly once',
    { timeout: SCENARIO_TIMEOUT_MS },
    async (t) => {
      if ('cannot' in opened) {
        t.skip(opened.cannot);
        return;
      }
      const target = opened.target;
      const started = Date.now();
      const log = (text: string) => console.error(`chaos +${((Date.now() - started) / 1000).toFixed(1)}s: ${text}`);

      // Connect one by one: with least-connections the balancer spreads them over every gateway.
      for (let i = 0; i < CLIENTS; i++) {
        const probe = new Probe(i, target.wsUrl, target.ca);
        probes.push(probe);
        await within(probe.client.connect(), RECOVER_TIMEOUT_MS, `client ${i} to connect`);
      }
      const spread = countBy(probes.map((p) => p.node));
      log(`${CLIENTS} clients on ${[...spread].map(([n, c]) => `${n}=${c}`).join(' ')}`);
      assert.equal(spread.size, target.gateways, `clients landed on ${[...spread.keys()].join(', ')} only`);
      assert.ok(
        probes.every((p) => p.client.protocol === 'v2'),
        'every client speaks v2',
      );
      const epoch = probes[0]!.client.position!.epoch;

      // Everybody sends, for the whole scenario.
      const lines = new Map<string, Line>();
      const notQueued: string[] = [];
      const sendOne = (probe: Probe) => {
        const text = `chaos c${probe.index} n${++probe.counter}`;
        const line: Line = { client: probe.index, status: 'pending' };
        try {
          const done = probe.client.send(text);
          lines.set(text, line);
          done.then(
            (ack) => Object.assign(line, { status: 'acked', seq: ack?.seq }),
            (err: Error & { code?: string }) => Object.assign(line, { status: 'refused', error: `${err.code}: ${err.message}` }),
          );
        } catch (err) {
          notQueued.push(`${text}: ${(err as Error).message}`);
        }
      };
      probes.forEach((probe, i) => {
        setTimeout(
          () => {
            if (probe.client.state !== 'closed') probe.timer = setInterval(() => sendOne(probe), SEND_INTERVAL_MS);
          },
          (i * SEND_INTERVAL_MS) / CLIENTS,
        );
      });
      await delay(STEADY_MS);

      /** Run a blow; wait until every client it dropped is welcomed again, and the balancer sees every gateway. */
      const blow = async (what: string, victim: string | undefined, hurt: () => Promise<void>, heal: () => Promise<void>) => {
        const dropped = probes.filter((p) => p.node === victim);
        const back = dropped.map((p) =>
          watch<ClientEvents>(p.client).next(
            'welcome',
            () => true,
            RECOVER_TIMEOUT_MS,
            `client ${p.index} to be welcomed again after ${what}`,
          ),
        );
        log(`${what}${victim ? ` (${dropped.length} clients on it)` : ''}`);
        await hurt();
        await Promise.all(back);
        log(`${what}: every dropped client is back`);
        await heal();
        await target.settled();
        await within(Promise.all(probes.map((p) => p.client.whenOpen())), RECOVER_TIMEOUT_MS, 'every client to be open');
        log(`${what}: healed, every gateway up again`);
        await delay(STEADY_MS);
      };

      const killed = probes[0]!.node;
      await blow(
        `SIGKILL ${killed}`,
        killed,
        () => target.kill(killed),
        () => target.restart(killed),
      );
      const drained = [...countBy(probes.map((p) => p.node))].filter(([n]) => n !== killed).sort((a, b) => b[1] - a[1])[0]![0];
      await blow(
        `SIGTERM (drain) ${drained}`,
        drained,
        () => target.drain(drained),
        () => target.restart(drained),
      );
      await blow(
        'Redis restart',
        undefined,
        () => target.restartRedis(REDIS_DOWN_MS),
        async () => undefined,
      );

      // Stop sending; wait for every line to be settled, then for every client to have everything.
      for (const p of probes) clearInterval(p.timer);
      const sendingMs = Date.now() - started;
      const settled = within(
        Promise.all(
          probes.map(
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
        QUIESCE_TIMEOUT_MS,
        'every line to be acknowledged or refused',
      ).catch((err: Error) => log(err.message));
      await settled;
      const finalSeq = Math.max(...[...lines.values()].map((l) => l.seq ?? 0));
      await Promise.all(
        probes.map((p) =>
          p.delivered
            .waitFor((d) => d.seq >= finalSeq, QUIESCE_TIMEOUT_MS, `client ${p.index} to reach seq ${finalSeq}`)
            .catch((err: Error) => log(err.message)),
        ),
      );
      log(`quiet at seq ${finalSeq}`);

      const errorCount = (code: string) => probes.reduce((n, p) => n + (p.errors.get(code) ?? 0), 0);
      const report = analyse(probes, lines, epoch, finalSeq);
      const table = [
        ['lines sent', lines.size + notQueued.length],
        ['delivered (to all clients)', report.deliveredToAll],
        ['lost', report.lost.length],
        ['duplicated', report.duplicated.length],
        ['out of order', report.outOfOrder.length],
        ['refused', report.refused.length + notQueued.length],
        ['longest reconnect (close -> welcome), ms', Math.max(0, ...probes.flatMap((p) => p.reconnectMs))],
        ['reconnects', probes.reduce((n, p) => n + p.reconnectMs.length, 0)],
        ['sends retried after BUS_UNAVAILABLE / RATE_LIMITED', `${errorCount('BUS_UNAVAILABLE')} / ${errorCount('RATE_LIMITED')}`],
        ['resume failures', report.resumeFailures.length],
        ['disconnect notices for live clients', report.spuriousNotices.length],
        ['epoch changes', report.epochs.length],
        ['clients with another sequence', report.divergent.length],
        ['sending for, s', (sendingMs / 1000).toFixed(1)],
        ['lines per second', ((lines.size + notQueued.length) / (sendingMs / 1000)).toFixed(1)],
      ] as const;
      const text = [
        'chaos scenario (e2e/src/chaos.test.ts)',
        ...table.map(([k, v]) => `  ${k.padEnd(50)} ${v}`),
        ...evidence(report, target),
      ].join('\n');
      console.error(text);
      mkdirSync(new URL('../../test-output/', import.meta.url), { recursive: true });
      writeFileSync(REPORT, `${text}\n`);

      assert.ok((lines.size + notQueued.length) / (sendingMs / 1000) >= 50, 'at least 50 lines per second were sent');
      assert.deepEqual(report.epochs, [], 'the epoch never changed (Redis runs with AOF)');
      assert.deepEqual(report.divergent, [], 'every client has the identical contiguous sequence');
      assert.deepEqual(report.lost, [], 'no line was lost');
      assert.deepEqual(report.duplicated, [], 'no line appears twice');
      assert.deepEqual(report.outOfOrder, [], 'nothing arrived out of order, on any connection');
      assert.deepEqual([...report.refused, ...notQueued], [], 'no line was refused');
      assert.deepEqual(report.resumeFailures, [], 'every reconnect resumed its session');
      assert.deepEqual(report.spuriousNotices, [], 'no client was announced as gone while it was resuming');
    },
  );
});

interface Report {
  deliveredToAll: number;
  lost: string[];
  duplicated: string[];
  outOfOrder: string[];
  refused: string[];
  resumeFailures: string[];
  spuriousNotices: string[];
  epochs: string[];
  divergent: string[];
}

function analyse(all: readonly Probe[], lines: ReadonlyMap<string, Line>, epoch: string, finalSeq: number): Report {
  const report: Report = {
    deliveredToAll: 0,
    lost: [],
    duplicated: [],
    outOfOrder: [],
    refused: [],
    resumeFailures: [],
    spuriousNotices: [],
    epochs: [],
    divergent: [],
  };
  // Each client's delivered sequence: one epoch, contiguous, no repeats.
  for (const p of all) {
    const items = p.delivered.items;
    for (const d of items) if (d.epoch !== epoch) report.epochs.push(`client ${p.index}: seq ${d.seq} in epoch ${d.epoch}, not ${epoch}`);
    items.forEach((d, i) => {
      if (i > 0 && d.seq !== items[i - 1]!.seq + 1)
        report.outOfOrder.push(`client ${p.index} delivered seq ${d.seq} after ${items[i - 1]!.seq}`);
    });
    p.wires.forEach((w, i) =>
      w.problems.forEach((problem) =>
        report.outOfOrder.push(`client ${p.index} connection ${i} (${w.node}, resumed ${w.resumed}): ${problem}`),
      ),
    );
    for (const f of p.resumeFailures) report.resumeFailures.push(`client ${p.index}: ${f}`);
    for (const g of p.gaps) report.outOfOrder.push(`client ${p.index} gap event: ${g}`);
  }
  // The same content at every seq, on every client, over the range all of them cover.
  const from = Math.max(...all.map((p) => p.delivered.items[0]?.seq ?? Infinity));
  const reference = new Map(all[0]!.delivered.items.map((d) => [d.seq, d.key]));
  for (const p of all) {
    const mine = new Map(p.delivered.items.map((d) => [d.seq, d.key]));
    for (let seq = from; seq <= finalSeq; seq++) {
      if (mine.get(seq) !== reference.get(seq)) {
        report.divergent.push(
          `client ${p.index} at seq ${seq}: ${mine.get(seq) ?? 'nothing'} vs client 0: ${reference.get(seq) ?? 'nothing'}`,
        );
        break;
      }
    }
  }
  // Every line sent: in the sequence exactly once, on every client.
  const occurrences = new Map<string, number[]>();
  for (const [seq, key] of reference) {
    const [type, , ...rest] = key.split('|');
    if (type === 'message') occurrences.set(rest.join('|'), [...(occurrences.get(rest.join('|')) ?? []), seq]);
  }
  const ids = new Set(all.map((p) => p.client.id));
  for (const [seq, key] of reference) {
    const [type, id] = key.split('|');
    if (type === 'notification' && ids.has(id) && key.endsWith('has disconnected')) report.spuriousNotices.push(`seq ${seq}: ${key}`);
  }
  for (const [text, line] of lines) {
    if (line.status === 'refused') {
      report.refused.push(`${text}: ${line.error}`);
      continue;
    }
    const seen = occurrences.get(text) ?? [];
    if (seen.length === 0) report.lost.push(`${text} (client ${line.client}, ${line.status}${line.seq ? ` as seq ${line.seq}` : ''})`);
    else if (seen.length > 1) report.duplicated.push(`${text} at seqs ${seen.join(', ')}`);
    else if (line.status !== 'acked')
      report.lost.push(`${text} (client ${line.client}): delivered at seq ${seen[0]} but never acknowledged`);
    else if (all.every((p) => p.delivered.items.some((d) => d.seq === seen[0]))) report.deliveredToAll += 1;
  }
  return report;
}

function evidence(report: Report, target: ChaosTarget): string[] {
  const problems = [
    report.lost,
    report.duplicated,
    report.outOfOrder,
    report.refused,
    report.resumeFailures,
    report.spuriousNotices,
    report.epochs,
    report.divergent,
  ];
  if (problems.every((list) => list.length === 0)) return [];
  const section = (title: string, list: readonly string[]) =>
    list.length ? [`${title} (${list.length}):`, ...list.slice(0, 20).map((l) => `  ${l}`)] : [];
  return [
    'evidence:',
    ...section('lost', report.lost),
    ...section('duplicated', report.duplicated),
    ...section('out of order', report.outOfOrder),
    ...section('refused', report.refused),
    ...section('resume failures', report.resumeFailures),
    ...section('disconnect notices', report.spuriousNotices),
    ...section('epochs', report.epochs),
    ...section('divergent', report.divergent),
    ...section('gateway warnings and errors (last 40)', target.gatewayProblems().slice(-40)),
  ];
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

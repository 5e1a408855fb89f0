/**
 * `npm run bench`: Switchboard beside Socket.IO + redis-adapter, nginx + nchan
 * and a naive ws + ioredis relay, one after another in one run, driven by the
 * same load generator; one table per scenario, and under the fan-out's and the
 * rooms' tables Switchboard against their reference systems (issue 24's goals).
 * The rooms scenario (opt-in) sets Switchboard on one Redis beside Switchboard
 * and Socket.IO's sharded adapter, each on a Redis Cluster of its own. `npm run bench -- --help` lists the flags.
 * Everything runs on 127.0.0.1, and every load is bounded in count and time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCosts, type MeasuredCosts } from '@switchboard/cli/capacity-model';
import { ConfigError } from '@switchboard/config';
import { PING_INTERVAL_MS } from '@switchboard/protocol';
import { topSelfTime, type Window } from './cpu-profile.js';
import { loadNow, machineInfo, waitForQuiet } from './machine.js';
import { checkRows } from './model-check.js';
import { fitCosts, medianFit } from './model-fit.js';
import { checkTable, costsTable, probesTable, residualsTable } from './model-report.js';
import { killTracked } from './node-process.js';
import { helpText, loadOptions, type Options, type Scenario, type SystemId } from './options.js';
import {
  comparisons,
  fanoutRoundsTable,
  fanoutTable,
  joinTable,
  reconnectTable,
  referencesRoundsTable,
  referencesTable,
  roomsTable,
  type Failed,
} from './report.js';
import { REFERENCE_GOALS } from './reference-goals.js';
import type { Comparison } from './reference-goals.js';
import { runFanout, type FanoutOptions } from './scenarios/fanout.js';
import { runJoin, type JoinOptions } from './scenarios/join.js';
import {
  CHECK_PROBES,
  MEMORY_PROBE,
  PROBE_PING_INTERVAL_MS,
  TRAFFIC_PROBES,
  runProbe,
  type Probe,
  type ProbeOptions,
  type ProbeResult,
} from './scenarios/model.js';
import { runReconnect, type ReconnectOptions } from './scenarios/reconnect.js';
import { runRooms, type RoomsOptions } from './scenarios/rooms.js';
import { naive } from './systems/naive.js';
import { nchan } from './systems/nchan.js';
import { socketio, socketioCluster } from './systems/socketio.js';
import { switchboard, switchboardB, switchboardCluster } from './systems/switchboard.js';
import type { SystemUnderTest } from './systems/system.js';
import type { CpuUse } from './cpu-meter.js';

/** Each scenario's systems unless --systems says otherwise. */
const DEFAULT_SYSTEMS: Readonly<Record<Scenario, readonly SystemId[]>> = {
  fanout: ['switchboard', 'socketio', 'nchan', 'naive'],
  join: ['switchboard', 'socketio', 'naive'],
  reconnect: ['switchboard'],
  rooms: ['switchboard', 'switchboard-cluster', 'socketio-cluster'],
  model: ['switchboard-cluster'],
};
/** Exit status for a bad option, as the gateway's for a bad setting. */
const EXIT_BAD_OPTION = 2;
/** How long to wait for a quiet machine before each measurement, ms (--quiet-wait). */
let quietWaitMs = 0;
/** Measurements taken again when others used more than SHARED_CORES meanwhile (--retries). */
let retries = 0;
const SHARED_CORES = 0.25;

async function main(): Promise<void> {
  const options = readOptions();
  if (options === 'help') {
    process.stdout.write(helpText());
    return;
  }
  const scenarios = options.scenario;
  quietWaitMs = options.quietWait * 1000;
  retries = options.retries;
  const started = Date.now();
  out(
    `# Switchboard benchmark, ${new Date().toISOString()}\n\n${machineInfo()}\ncommand: npm run bench -- ${process.argv.slice(2).join(' ')}`,
  );

  if (scenarios.includes('fanout')) await fanout(options);
  if (scenarios.includes('join')) await joinStorm(options);
  if (scenarios.includes('reconnect')) await reconnect(options);
  if (scenarios.includes('rooms')) await rooms(options);
  if (scenarios.includes('model')) await model(options);
  out(`total: ${((Date.now() - started) / 1000).toFixed(0)} s; ${loadNow()}`);
}

async function fanout(options: Options): Promise<void> {
  const profileDir = options.cpuProf === undefined ? undefined : resolve(options.cpuProf);
  for (const rate of options.rate) {
    for (const clients of options.clients ?? [300]) {
      const o: FanoutOptions = {
        clients,
        rate,
        nodes: options.nodes,
        senders: options.senders,
        bytes: options.bytes,
        warmupMs: options.warmup * 1000,
        durationMs: options.duration * 1000,
        drainMs: options.drain * 1000,
        workers: options.workers,
      };
      const rounds = options.rounds;
      const all = [];
      const compared: Comparison[][] = [];
      for (let round = 1; round <= rounds; round++) {
        const rows = [];
        for (const system of systems(options, 'fanout')) {
          const dir = profileDir && freshDir(join(profileDir, `${system.id}-${rate}${rounds > 1 ? `-round${round}` : ''}`));
          const row = await attempt(
            system,
            'fanout',
            `fanout ${rate} lines/s, ${clients} clients${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`,
            () => runFanout(system, { ...o, ...(dir && { cpuProfileDir: dir }) }),
            (r) => r.cpu,
          );
          rows.push(row);
          if (dir && !('error' in row)) profiles(system, dir, row.window);
        }
        out(fanoutTable(o, rows));
        const against = comparisons(rows, REFERENCE_GOALS.fanout);
        if (against.length > 0)
          out(
            referencesTable(
              `Fan-out at ${rate} lines/s, ${clients} clients: Switchboard against the references${rounds > 1 ? `, round ${round}` : ''}`,
              against,
              false,
            ),
          );
        all.push(rows);
        compared.push(against);
      }
      if (rounds > 1) {
        out(fanoutRoundsTable(o, all));
        if (compared.flat().length > 0)
          out(
            referencesRoundsTable(
              `Fan-out at ${rate} lines/s, ${clients} clients: Switchboard against the references over ${rounds} rounds`,
              compared,
              false,
            ),
          );
      }
    }
  }
}

async function joinStorm(options: Options): Promise<void> {
  const profileDir = options.cpuProf === undefined ? undefined : resolve(options.cpuProf);
  for (const clients of options.clients ?? [3000]) {
    const o: JoinOptions = {
      clients,
      batch: options.batch,
      timeoutMs: options.joinTimeout * 1000,
      joinNotices: options.joinNotices,
      workers: options.workers,
    };
    const rows = [];
    for (const system of systems(options, 'join')) {
      const dir = profileDir && freshDir(join(profileDir, `${system.id}-join-${clients}`));
      const row = await attempt(
        system,
        'join',
        `join storm, ${clients} clients`,
        () => runJoin(system, { ...o, ...(dir && { cpuProfileDir: dir }) }),
        (r) => r.cpuToQuiet,
      );
      rows.push(row);
      if (dir && !('error' in row)) profiles(system, dir, row.window);
    }
    out(joinTable(o, rows));
  }
}

async function reconnect(options: Options): Promise<void> {
  const o: ReconnectOptions = {
    stormClients: (options.clients ?? [1000])[0]!,
    stable: options.stable,
    senders: options.senders,
    rate: options.stormRate,
    bytes: options.bytes,
    warmupMs: options.warmup * 1000,
    beforeMs: 5_000,
    stormMs: options.stormDuration * 1000,
    drainMs: options.drain * 1000,
    workers: options.workers,
  };
  const profileDir = options.cpuProf === undefined ? undefined : resolve(options.cpuProf);
  const rows = [];
  for (const system of systems(options, 'reconnect')) {
    const dir = profileDir && freshDir(join(profileDir, `${system.id}-reconnect`));
    const row = await attempt(
      system,
      'reconnect',
      'reconnect storm',
      () => runReconnect(system, { ...o, ...(dir && { cpuProfileDir: dir }) }),
      (r) => r.cpu,
    );
    rows.push(row);
    // The killed node writes no profile: those left are the survivors', cut to the storm.
    if (dir && !('error' in row)) profiles(system, dir, row.window);
  }
  out(reconnectTable(o, rows));
}

async function rooms(options: Options): Promise<void> {
  for (const ratePerRoom of options.roomRate) {
    const o: RoomsOptions = {
      rooms: options.rooms,
      clientsPerRoom: options.roomClients,
      sendersPerRoom: options.roomSenders,
      roomNodes: options.roomNodes,
      nodes: options.nodes,
      ratePerRoom,
      bytes: options.bytes,
      warmupMs: options.warmup * 1000,
      durationMs: options.duration * 1000,
      drainMs: options.drain * 1000,
      workers: options.workers,
    };
    const rounds = options.rounds;
    const compared: Comparison[][] = [];
    for (let round = 1; round <= rounds; round++) {
      const rows = [];
      for (const system of systems(options, 'rooms'))
        rows.push(
          await attempt(
            system,
            'rooms',
            `rooms, ${ratePerRoom} lines/s per room${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`,
            () => runRooms(system, o),
            (r) => r.cpu,
          ),
        );
      out(roomsTable(o, rows));
      const against = comparisons(rows, REFERENCE_GOALS.rooms);
      compared.push(against);
      if (against.length > 0)
        out(
          referencesTable(
            `Rooms at ${ratePerRoom} lines/s per room: Switchboard against the reference${rounds > 1 ? `, round ${round}` : ''}`,
            against,
            true,
          ),
        );
    }
    if (rounds > 1 && compared.flat().length > 0)
      out(
        referencesRoundsTable(
          `Rooms at ${ratePerRoom} lines/s per room: Switchboard against the reference over ${rounds} rounds`,
          compared,
          true,
        ),
      );
  }
}

/** Where the model's costs go without --model-costs: the file `switchboard plan` bundles. */
const BUNDLED_COSTS = fileURLToPath(new URL('../../packages/cli/model-costs.json', import.meta.url));

/**
 * The capacity model's unit costs: the probes (scenarios/model.ts) on the first
 * system (Switchboard on a 3-master Redis Cluster), --rounds times; the median of
 * each cost fitted from them written to --model-costs and printed, then checked
 * against runs they were not fitted to (predicted beside measured).
 */
async function model(options: Options): Promise<void> {
  const system = systems(options, 'model')[0]!;
  const o: ProbeOptions = {
    bytes: options.bytes,
    warmupMs: options.warmup * 1000,
    durationMs: options.duration * 1000,
    drainMs: options.drain * 1000,
    workers: options.workers,
  };
  const probe = (p: Probe, round = '') =>
    attempt(
      system,
      'model',
      `model: ${p.name}${round}`,
      () => runProbe(system, p, o),
      (r) => r.traffic ?? r.connect,
    );
  const fits = [];
  let busiest = 0;
  for (let round = 1; round <= options.rounds; round++) {
    const label = options.rounds > 1 ? `, round ${round} of ${options.rounds}` : '';
    const results: ProbeResult[] = [];
    for (const p of [MEMORY_PROBE, ...TRAFFIC_PROBES]) {
      const result = await probe(p, label);
      if ('error' in result) {
        out(`model: the probe "${p.name}" failed (${result.error}); no costs written`);
        return;
      }
      results.push(result);
    }
    const [memory, ...traffic] = results;
    const fit = fitCosts(memory!, traffic, { probeMs: PROBE_PING_INTERVAL_MS, defaultMs: PING_INTERVAL_MS });
    fits.push(fit);
    out(
      `Model probes${label} on ${system.name} (CPU-seconds of the gateways / the Redis shards in each phase):\n\n${probesTable(results)}\n\n` +
        `The costs fitted to this round, against each equation of the fit:\n\n${residualsTable(fit.residuals)}`,
    );
    for (const r of results)
      for (const c of [r.connect, r.idle, ...(r.traffic ? [r.traffic] : [])]) busiest = Math.max(busiest, c.others / c.seconds);
  }
  const fit = medianFit(fits);
  const costs: MeasuredCosts = readCosts({
    measured: {
      at: new Date().toISOString(),
      commit: commitOf(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
      machine: machineInfo()
        .split('\n')[0]!
        .replace(/^machine: /, ''),
      lineBytes: options.bytes,
      notes: [
        `on ${system.name}, ${fits.length > 1 ? `the median of ${fits.length} rounds` : 'one round'} of the probes: ${[MEMORY_PROBE, ...TRAFFIC_PROBES].map((p) => p.name).join('; ')}`,
        `other processes used up to ${busiest.toFixed(2)} cores during a measured phase`,
        ...fit.notes,
      ],
    },
    gateway: fit.gateway,
    redisShard: fit.redisShard,
  });
  const file = resolve(options.modelCosts ?? BUNDLED_COSTS);
  // Four significant digits: more would be noise.
  writeFileSync(
    file,
    `${JSON.stringify(costs, (_, value: unknown) => (typeof value === 'number' ? Number(value.toPrecision(4)) : value), 2)}\n`,
  );
  out(
    `Unit costs (written to ${file}):\n\n${costsTable(costs, fits.length > 1 ? fit.ranges : undefined)}${fit.notes.length ? `\n\n${fit.notes.join('\n')}` : ''}`,
  );

  for (const p of CHECK_PROBES) {
    const check = await probe(p);
    if ('error' in check) out(`model: the check "${p.name}" failed (${check.error})`);
    else
      out(
        `Check: ${p.name}, predicted from the costs above and the run's own counts, beside measured:\n\n${probesTable([check])}\n\n${checkTable(checkRows(costs, check))}`,
      );
  }
}

/** The commit measured, `+` when the work tree has changes. */
function commitOf(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+' : ''}`;
  } catch {
    return '';
  }
}

function systems(options: Options, scenario: Scenario): SystemUnderTest[] {
  const all: Readonly<Record<SystemId, SystemUnderTest>> = {
    switchboard,
    'switchboard-cluster': switchboardCluster,
    'switchboard-b': switchboardB({ entry: options.bEntry, nodeFlags: options.bNodeFlags, env: options.bEnv }),
    socketio,
    'socketio-cluster': socketioCluster,
    nchan: nchan(options.nginx),
    naive,
  };
  return (options.systems ?? DEFAULT_SYSTEMS[scenario]).map((id) => all[id]);
}

/** The options, or exit 2 with a message naming the bad one. */
function readOptions(): Options | 'help' {
  try {
    return loadOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(EXIT_BAD_OPTION);
  }
}

/**
 * Run one system's measurement once the machine is quiet; measure again (up to
 * --retries times) when other processes took more than SHARED_CORES meanwhile,
 * keeping the last. A failure becomes the system's row, and the run goes on;
 * so does a system that cannot run here (not installed, or not in this
 * scenario), whose row says NOT RUN and why.
 */
async function attempt<T>(
  system: SystemUnderTest,
  scenario: Scenario,
  what: string,
  run: () => Promise<T>,
  cpu: (result: T) => CpuUse,
): Promise<T | Failed> {
  const notRun =
    system.scenarios && !system.scenarios.includes(scenario) ? `runs only in ${system.scenarios.join(', ')}` : system.missing?.();
  if (notRun !== undefined) {
    process.stderr.write(`${what}: ${system.name}: NOT RUN: ${notRun}\n`);
    return { id: system.id, system: system.name, error: notRun, notRun: true };
  }
  process.stderr.write(`${what}: ${system.name}...\n`);
  for (let round = 0; ; round++) {
    if (quietWaitMs > 0) await waitForQuiet(quietWaitMs);
    const t0 = Date.now();
    try {
      const result = await run();
      const shared = cpu(result).others / cpu(result).seconds;
      process.stderr.write(`  done in ${((Date.now() - t0) / 1000).toFixed(0)} s; others used ${shared.toFixed(2)} cores meanwhile\n`);
      if (shared <= SHARED_CORES || round >= retries) return result;
      process.stderr.write('  measuring again\n');
    } catch (err) {
      process.stderr.write(`  failed: ${(err as Error).stack}\n`);
      return { id: system.id, system: system.name, error: (err as Error).message.split('\n')[0]! };
    }
  }
}

function profiles(system: SystemUnderTest, dir: string, window: Window): void {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  if (files.length === 0) out(`${system.name}: no CPU profile was written in ${dir}`);
  // One node is enough to see where the time goes; every profile stays in the folder.
  else out(`${system.name}, one node under load (${join(dir, files[0]!)}):\n\n${topSelfTime(join(dir, files[0]!), window)}`);
}

/** An empty folder at `dir` (what a previous run left there is removed). */
function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function out(text: string): void {
  process.stdout.write(`${text}\n\n`);
}

// Stopped from outside (Ctrl-C, SIGTERM): no server, Redis or generator of ours stays behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killTracked();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

/**
 * `npm run bench`: Switchboard beside Socket.IO + redis-adapter and a naive ws +
 * ioredis relay, one after another in one run, driven by the same load
 * generator; one table per scenario. The rooms scenario (opt-in) sets
 * Switchboard on one Redis beside Switchboard on a Redis Cluster. `npm run bench -- --help` lists the flags.
 * Everything runs on 127.0.0.1, and every load is bounded in count and time.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '@switchboard/config';
import { topSelfTime, type Window } from './cpu-profile.js';
import { loadNow, machineInfo, waitForQuiet } from './machine.js';
import { killTracked } from './node-process.js';
import { helpText, loadOptions, type Options, type Scenario, type SystemId } from './options.js';
import { fanoutRoundsTable, fanoutTable, joinTable, reconnectTable, roomsTable, type Failed } from './report.js';
import { runFanout, type FanoutOptions } from './scenarios/fanout.js';
import { runJoin, type JoinOptions } from './scenarios/join.js';
import { runReconnect, type ReconnectOptions } from './scenarios/reconnect.js';
import { runRooms, type RoomsOptions } from './scenarios/rooms.js';
import { naive } from './systems/naive.js';
import { socketio } from './systems/socketio.js';
import { switchboard, switchboardB, switchboardCluster } from './systems/switchboard.js';
import type { SystemUnderTest } from './systems/system.js';
import type { CpuUse } from './cpu-meter.js';

/** Each scenario's systems unless --systems says otherwise. */
const DEFAULT_SYSTEMS: Readonly<Record<Scenario, readonly SystemId[]>> = {
  fanout: ['switchboard', 'socketio', 'naive'],
  join: ['switchboard', 'socketio', 'naive'],
  reconnect: ['switchboard'],
  rooms: ['switchboard', 'switchboard-cluster'],
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
      for (let round = 1; round <= rounds; round++) {
        const rows = [];
        for (const system of systems(options, 'fanout')) {
          const dir = profileDir && freshDir(join(profileDir, `${system.id}-${rate}${rounds > 1 ? `-round${round}` : ''}`));
          const row = await attempt(
            system,
            `fanout ${rate} lines/s, ${clients} clients${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`,
            () => runFanout(system, { ...o, ...(dir && { cpuProfileDir: dir }) }),
            (r) => r.cpu,
          );
          rows.push(row);
          if (dir && !('error' in row)) profiles(system, dir, row.window);
        }
        out(fanoutTable(o, rows));
        all.push(rows);
      }
      if (rounds > 1) out(fanoutRoundsTable(o, all));
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
    const rows = [];
    for (const system of systems(options, 'rooms'))
      rows.push(
        await attempt(
          system,
          `rooms, ${ratePerRoom} lines/s per room`,
          () => runRooms(system, o),
          (r) => r.cpu,
        ),
      );
    out(roomsTable(o, rows));
  }
}

function systems(options: Options, scenario: Scenario): SystemUnderTest[] {
  const all: Readonly<Record<SystemId, SystemUnderTest>> = {
    switchboard,
    'switchboard-cluster': switchboardCluster,
    'switchboard-b': switchboardB({ entry: options.bEntry, nodeFlags: options.bNodeFlags, env: options.bEnv }),
    socketio,
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

/** Run one system's measurement; a failure becomes its row, and the run goes on. */
/**
 * Run one system's measurement once the machine is quiet; measure again (up to
 * --retries times) when other processes took more than SHARED_CORES meanwhile,
 * keeping the last. A failure becomes the system's row, and the run goes on.
 */
async function attempt<T>(system: SystemUnderTest, what: string, run: () => Promise<T>, cpu: (result: T) => CpuUse): Promise<T | Failed> {
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
      return { system: system.name, error: (err as Error).message.split('\n')[0]! };
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

/** What the numbers were measured on: printed above the tables, and whether the machine was shared. */
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { machineBusySeconds } from './proc-stats.js';

/** Others may use this much of the machine, in cores, for it to count as quiet. */
const QUIET_CORES = 0.25;
/** Over how long the machine's load is judged, ms. */
const QUIET_WINDOW_MS = 3_000;

export function machineInfo(): string {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return [
    `machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown model'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}`,
    `software: node ${process.version}, ${redisVersion()}, socket.io ${version('socket.io')}, @socket.io/redis-adapter ${version('@socket.io/redis-adapter')}, redis (client) ${version('redis')}, ws ${version('ws')}, ioredis ${version('ioredis')}, ${nginxVersion()}`,
    `at start: ${loadNow()}`,
  ].join('\n');
}

/** The load average now, and any process known to load the machine besides us. */
export function loadNow(): string {
  const busy = busyProcesses();
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}${busy.length ? `; shared: ${busy.join(', ')} running` : ''}`;
}

/** Processes another session may be loading the machine with (a `stress` loop, test runners). */
function busyProcesses(): string[] {
  const found = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'stress' || comm === 'stress-ng') found.set(comm, (found.get(comm) ?? 0) + 1);
    } catch {
      // gone meanwhile
    }
  }
  return [...found].map(([comm, n]) => `${comm} (${n} processes)`);
}

function redisVersion(): string {
  try {
    const out = execFileSync(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--version'], { encoding: 'utf8' });
    return `redis ${/v=(\S+)/.exec(out)?.[1] ?? out.trim()}`;
  } catch {
    return 'redis-server not found';
  }
}

/** nginx's version and the nchan package's (Debian's), or that it is not found. */
function nginxVersion(): string {
  for (const binary of [process.env.NGINX_BIN ?? 'nginx', '/usr/sbin/nginx']) {
    const out = spawnSync(binary, ['-v'], { encoding: 'utf8' });
    const version = /nginx\/(\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1];
    if (version === undefined) continue;
    const nchan = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libnginx-mod-nchan'], { encoding: 'utf8' });
    return `nginx ${version}${nchan.status === 0 && nchan.stdout ? ` + nchan ${nchan.stdout.trim()}` : ''}`;
  }
  return 'nginx not found';
}

/**
 * Between measurements (nothing of ours runs), wait until other processes use
 * less than QUIET_CORES for QUIET_WINDOW_MS, at most `timeoutMs`: on a shared
 * machine, another session's test suite would otherwise land in the numbers.
 * Resolves with what others used in the last window, in cores.
 */
export async function waitForQuiet(timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const before = machineBusySeconds();
    await delay(QUIET_WINDOW_MS);
    const cores = (machineBusySeconds() - before) / (QUIET_WINDOW_MS / 1000);
    if (cores < QUIET_CORES || Date.now() >= deadline) {
      if (said)
        process.stderr.write(
          `  ${cores < QUIET_CORES ? 'quiet now' : 'still busy; measuring anyway'} (${cores.toFixed(2)} cores used by others)\n`,
        );
      return cores;
    }
    if (!said)
      process.stderr.write(
        `  the machine is busy (${cores.toFixed(2)} cores used by others); waiting up to ${timeoutMs / 1000} s for it to quieten\n`,
      );
    said = true;
  }
}

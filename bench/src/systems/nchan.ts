/**
 * nginx + nchan, the C reference for one big room: Debian's `nginx-light` and
 * `libnginx-mod-nchan`, one worker process, no Redis, `nchan_pubsub websocket`
 * on one channel, raw text in and out (nginx-config.ts). Fan-out only; where
 * nginx or the module is not installed it does not run, and says why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '@switchboard/testkit';
import { NCHAN_MODULE_FILE, NCHAN_PATH, NCHAN_READY_PATH, nchanConfig, parseNginxBuild, type NginxBuild } from '../nginx-config.js';
import { NginxProcess } from '../nginx-process.js';
import { RunningSystem, type StartOptions, type SystemUnderTest } from './system.js';

/** The worker's connections at most: each client is one (fan-out runs 300 by default). */
const WORKER_CONNECTIONS = 16_384;
/** Where nginx is looked for besides PATH (Debian puts it in /usr/sbin, not on a user's PATH). */
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
const INSTALL_HINT = 'apt-get install nginx-light libnginx-mod-nchan';

/** What is needed to run it, found; or why it cannot run. */
type Found = { readonly binary: string; readonly build: NginxBuild; readonly modulePath: string } | { readonly missing: string };

/** nginx + nchan, with `binary` (a path, or a name looked for on PATH and in the sbin folders). */
export function nchan(binary: string): SystemUnderTest {
  let found: Found | undefined;
  const find = () => (found ??= findNchan(binary));
  return {
    id: 'nchan',
    name: 'nginx + nchan (1 worker, no Redis)',
    client: 'ws-text',
    scenarios: ['fanout'],
    missing: () => {
      const f = find();
      return 'missing' in f ? f.missing : undefined;
    },
    async start(_options: StartOptions): Promise<RunningSystem> {
      const f = find();
      if ('missing' in f) throw new Error(f.missing);
      const dir = mkdtempSync(join(tmpdir(), 'bench-nchan-'));
      const port = await freePort();
      const config = join(dir, 'nginx.conf');
      writeFileSync(
        config,
        nchanConfig({ dir, port, modulePath: f.modulePath, tempPaths: f.build.tempPaths, workerConnections: WORKER_CONNECTIONS }),
      );
      const nginx = NginxProcess.start(f.binary, dir, config, 'nchan');
      const running = new RunningSystem([nginx], [`ws://127.0.0.1:${port}${NCHAN_PATH}`], [], () =>
        rmSync(dir, { recursive: true, force: true }),
      );
      try {
        await nginx.waitForHttp(`http://127.0.0.1:${port}${NCHAN_READY_PATH}`);
      } catch (err) {
        await running.stop();
        throw err;
      }
      return running;
    },
  };
}

/** The nginx binary, its build and the nchan module, or what is missing. */
function findNchan(binary: string): Found {
  const path = binary.includes('/')
    ? binary
    : [...(process.env.PATH ?? '').split(delimiter), ...SBIN].map((dir) => join(dir, binary)).find((file) => existsSync(file));
  if (path === undefined || !existsSync(path)) return { missing: `nginx not found (${binary}; ${INSTALL_HINT})` };
  const version = spawnSync(path, ['-V'], { encoding: 'utf8' });
  let build: NginxBuild;
  try {
    build = parseNginxBuild(`${version.stdout}${version.stderr}`);
  } catch (err) {
    return { missing: `${path} -V: ${version.error?.message ?? (err as Error).message}` };
  }
  const modulePath = join(build.modulesPath, NCHAN_MODULE_FILE);
  if (!existsSync(modulePath)) return { missing: `the nchan module is not installed (no ${modulePath}; ${INSTALL_HINT})` };
  return { binary: path, build, modulePath };
}

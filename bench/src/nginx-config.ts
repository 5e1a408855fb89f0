/**
 * nginx + nchan as the bench runs it: what `nginx -V` says of a build (its
 * version, where its dynamic modules are, which temp paths it has), and the
 * configuration of one run, all of whose files (pid, temp folders) are in the
 * run's own folder: one worker process, no Redis, one location with
 * `nchan_pubsub websocket` on one channel (a text frame a client sends is
 * published; every subscriber, the sender included, gets it as it was), errors
 * to stderr, no access log.
 */
import { join } from 'node:path';

/** What a build of nginx says of itself (`nginx -V`, printed to stderr). */
export interface NginxBuild {
  /** `1.22.1`. */
  readonly version: string;
  /** Where `load_module` finds dynamic modules (`--modules-path`, else `<prefix>/modules`). */
  readonly modulesPath: string;
  /** The HTTP temp paths the build has, by directive prefix (`client_body`, `proxy`, `fastcgi`, `uwsgi`, `scgi`). */
  readonly tempPaths: readonly string[];
}

/** The nchan module's file in the modules folder (Debian's libnginx-mod-nchan). */
export const NCHAN_MODULE_FILE = 'ngx_nchan_module.so';

/** Read `nginx -V`: throws if it does not name a version. */
export function parseNginxBuild(versionOutput: string): NginxBuild {
  const version = /nginx version: nginx\/(\S+)/.exec(versionOutput)?.[1];
  if (version === undefined) throw new Error(`not the output of nginx -V: ${versionOutput.slice(0, 120)}`);
  const option = (name: string) => new RegExp(`--${name}=(\\S+)`).exec(versionOutput)?.[1];
  const modulesPath = option('modules-path') ?? join(option('prefix') ?? '/usr/local/nginx', 'modules');
  const tempPaths = [...versionOutput.matchAll(/--http-([a-z-]+)-temp-path=/g)].map((m) => m[1]!.replace(/-/g, '_'));
  return { version, modulesPath, tempPaths };
}

export interface NchanConfigOptions {
  /** The run's own folder: pid file and temp folders. */
  readonly dir: string;
  readonly port: number;
  /** Absolute path of ngx_nchan_module.so. */
  readonly modulePath: string;
  /** The build's HTTP temp paths (NginxBuild.tempPaths): each is put in `dir`, never the system's /var/lib/nginx. */
  readonly tempPaths: readonly string[];
  /** The worker's connections at most (each client is one; its open files are the hard limit, raised by NginxProcess). */
  readonly workerConnections: number;
}

/** Where the WebSocket clients connect, and where readiness is asked. */
export const NCHAN_PATH = '/ws';
export const NCHAN_READY_PATH = '/readyz';
/** The one channel every client publishes to and subscribes to. */
const CHANNEL = 'bench';

export function nchanConfig(o: NchanConfigOptions): string {
  return `# nginx + nchan for the bench: written for this run, removed after it.
load_module ${o.modulePath};
worker_processes 1;
daemon off;
master_process on;
pid ${join(o.dir, 'nginx.pid')};
error_log stderr warn;

events {
  worker_connections ${o.workerConnections};
}

http {
  access_log off;
${o.tempPaths.map((kind) => `  ${kind}_temp_path ${join(o.dir, `${kind}_temp`)};\n`).join('')}
  server {
    listen 127.0.0.1:${o.port};

    location = ${NCHAN_READY_PATH} {
      return 200;
    }

    location = ${NCHAN_PATH} {
      nchan_pubsub websocket;
      nchan_channel_id ${CHANNEL};
      # A client that subscribes gets what is published from then on, not the channel's buffer.
      nchan_subscriber_first_message newest;
    }
  }
}
`;
}

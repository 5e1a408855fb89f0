import { createServer } from 'node:net';

/** A port the cluster is told to listen on, and the setting that told it. */
export interface WantedPort {
  readonly host: string;
  readonly port: number;
  /** The port's setting (its variable), e.g. `LB_PORT`. */
  readonly setting: string;
  /** The address's setting, e.g. `LB_HOST`. */
  readonly hostSetting: string;
}

/** How far above a busy port a free one is looked for, to suggest it. */
const SUGGEST_WITHIN = 20;

/**
 * Before anything is started: whether each wanted port can be listened on. The
 * first that cannot is said in one sentence that names its setting and a port
 * that is free (`port 8080 of 127.0.0.1 is in use ...: choose another with
 * LB_PORT, e.g. LB_PORT=8081 npm run cluster ...`, `command` being what the
 * example runs); undefined when all can. Port 0 (a free one, picked later) is
 * not checked. Shared by the gateway (npm start) and the cluster runner.
 */
export async function busyPortSentence(wanted: readonly WantedPort[], command: string): Promise<string | undefined> {
  for (const { host, port, setting, hostSetting } of wanted) {
    if (port === 0) continue;
    const code = await listenError(host, port);
    if (code === undefined) continue;
    if (code === 'EADDRNOTAVAIL') {
      return `${host} is not an address of this machine, so nothing can listen on it: set ${hostSetting} to one that is.`;
    }
    const why =
      code === 'EACCES'
        ? `cannot be listened on without more rights (ports below 1024 need root)`
        : code === 'EADDRINUSE'
          ? `is in use (is a cluster, a gateway or another server already running?)`
          : `cannot be listened on (${code})`;
    const free = await freePortAbove(host, port);
    const example = free === undefined ? '' : `, e.g. \`${setting}=${free} ${command}\``;
    return `port ${port} of ${host} ${why}: choose another with ${setting}${example} (0 picks any free port).`;
  }
  return undefined;
}

/** Why `host:port` cannot be listened on (an error code), or undefined when it can. */
function listenError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

async function freePortAbove(host: string, port: number): Promise<number | undefined> {
  for (let candidate = port + 1; candidate <= Math.min(65_535, port + SUGGEST_WITHIN); candidate++) {
    if ((await listenError(host, candidate)) === undefined) return candidate;
  }
  return undefined;
}

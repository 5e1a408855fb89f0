import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { LocalCluster } from '@switchboard/testkit';

/**
 * What the suite runs against: a load balancer URL, and what it may do to the
 * cluster behind it.
 *
 *   E2E_URL        the load balancer, e.g. http://127.0.0.1:8080 or https://localhost:8443 (then
 *                  clients use wss://). Unset: the suite starts a local cluster (Redis,
 *                  E2E_GATEWAYS gateways, HAProxy) and stops it after.
 *   E2E_CA         a PEM file of the authority that signed E2E_URL's certificate, when it is
 *                  not one Node trusts already (e.g. infra/tls/ca.crt from npm run dev-cert).
 *   E2E_GATEWAYS   how many gateways are behind it (default 3).
 *   E2E_KILL_CMD   a shell command that SIGKILLs the gateway whose node id is in $E2E_NODE.
 *                  Unset with E2E_URL: the SIGKILL test is skipped.
 *   E2E_SCALE_CMD  a shell command that adds one gateway behind the running balancer.
 *                  Unset: the scale-up test is skipped.
 *   E2E_ADMIN_URL  the balancer's admin listener (HAProxy's /metrics, the dashboard), e.g.
 *                  http://127.0.0.1:8404. Unset with E2E_URL: its test is skipped.
 */
export interface Target {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The authority to trust for https:// and wss:// (E2E_CA); undefined: Node's own. */
  readonly ca?: Buffer;
  /** Gateways behind the balancer when the suite starts. */
  readonly gateways: number;
  /** SIGKILL the gateway serving `node`; undefined when the suite cannot. */
  readonly kill?: (node: string) => Promise<void>;
  /** Add one gateway; undefined when the suite cannot. */
  readonly scaleUp?: () => Promise<void>;
  /** The balancer's admin listener; undefined when the suite does not know it. */
  readonly adminUrl?: string;
  /** What the suite cannot do here, and why: printed as skip reasons. */
  readonly cannot: { readonly kill?: string; readonly scaleUp?: string; readonly admin?: string };
  close(): Promise<void>;
}

export async function openTarget(env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const gateways = Number(env.E2E_GATEWAYS ?? 3);
  if (!Number.isInteger(gateways) || gateways < 2)
    throw new Error(`E2E_GATEWAYS must be an integer of at least 2, got ${env.E2E_GATEWAYS}`);
  const scaleCmd = env.E2E_SCALE_CMD;
  const scaleUp = scaleCmd ? () => shell(scaleCmd, {}) : undefined;
  const noScale = 'E2E_SCALE_CMD is not set (npm run e2e:docker sets it: docker-compose up --scale gateway=4)';

  if (env.E2E_URL) {
    const http = new URL(env.E2E_URL);
    const killCmd = env.E2E_KILL_CMD;
    return {
      httpUrl: http.origin,
      wsUrl: wsUrlOf(http),
      ca: readCa(env),
      gateways,
      kill: killCmd ? (node) => shell(killCmd, { E2E_NODE: node }) : undefined,
      scaleUp,
      adminUrl: env.E2E_ADMIN_URL || undefined,
      cannot: {
        kill: killCmd ? undefined : `E2E_KILL_CMD is not set, and the suite does not own the cluster at ${http.origin}`,
        scaleUp: scaleCmd ? undefined : noScale,
        admin: env.E2E_ADMIN_URL ? undefined : 'E2E_ADMIN_URL is not set (npm run e2e:docker sets it)',
      },
      close: async () => undefined,
    };
  }

  const cluster = await LocalCluster.start({ gateways });
  await cluster.waitForBackends();
  return {
    httpUrl: cluster.httpUrl,
    wsUrl: cluster.wsUrl,
    gateways,
    kill: async (node) => {
      const gateway = cluster.gateway(node);
      if (!gateway) throw new Error(`no local gateway has node id ${node}`);
      await gateway.kill();
    },
    scaleUp,
    adminUrl: cluster.adminUrl,
    cannot: { scaleUp: scaleCmd ? undefined : `${noScale}; the local cluster's HAProxy lists fixed ports` },
    close: () => cluster.stop(),
  };
}

/** E2E_CA, read; undefined when unset. Throws naming it when the file cannot be read. */
export function readCa(env: NodeJS.ProcessEnv): Buffer | undefined {
  if (!env.E2E_CA) return undefined;
  try {
    return readFileSync(env.E2E_CA);
  } catch (err) {
    throw new Error(`E2E_CA must be the path of a readable PEM file, got "${env.E2E_CA}": ${(err as Error).message}`, { cause: err });
  }
}

/** The WebSocket endpoint of the balancer at `httpUrl`: wss:// for https://, else ws://. */
export function wsUrlOf(httpUrl: URL): string {
  const ws = new URL('/ws', httpUrl);
  ws.protocol = httpUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  return ws.href;
}

/** Run `command` with sh, extra environment added; rejects unless it exits 0. */
export function shell(command: string, extraEnv: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 2, 2] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`\`${command}\` exited ${code ?? signal}`));
    });
  });
}

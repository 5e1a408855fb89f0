import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChaosTarget } from './chaos-target.js';
import { readCa, wsUrlOf } from './target.js';

const run = promisify(execFile);

/**
 * What the Swarm scenarios (e2e/src/swarm.test.ts) run against: a stack of
 * infra/swarm/stack.yml, deployed by scripts/e2e-swarm.sh, which sets
 *
 *   E2E_URL                the balancer (as for the rest of the suite), E2E_CA its authority
 *   E2E_SWARM_SERVICE      the gateway service, e.g. switchboard-e2e_gateway
 *   E2E_SWARM_NETWORK      an attachable network of the stack the gateways are on (its `admin`)
 *   E2E_SWARM_WATCH_IMAGE  an image with node, to watch the gateways from inside that network
 *   E2E_SWARM_NEXT_IMAGE   the image to roll the gateways to (a new build, a new tag)
 *
 * Every change goes through the docker CLI, as an operator would make it.
 */
export interface SwarmTarget {
  readonly wsUrl: string;
  readonly ca?: Buffer;
  readonly service: string;
  readonly network: string;
  readonly watchImage: string;
  readonly nextImage: string;
}

const VARIABLES = ['E2E_URL', 'E2E_SWARM_SERVICE', 'E2E_SWARM_NETWORK', 'E2E_SWARM_WATCH_IMAGE', 'E2E_SWARM_NEXT_IMAGE'] as const;

/** The target, or why there is none (then the scenarios are skipped, saying so). */
export function openSwarmTarget(env: NodeJS.ProcessEnv = process.env): SwarmTarget | { cannot: string } {
  const missing = VARIABLES.filter((name) => !env[name]);
  if (missing.length > 0) return { cannot: `${missing.join(', ')} not set: the Swarm scenarios run under npm run e2e:swarm` };
  return {
    wsUrl: wsUrlOf(new URL(env.E2E_URL!)),
    ca: readCa(env),
    service: env.E2E_SWARM_SERVICE!,
    network: env.E2E_SWARM_NETWORK!,
    watchImage: env.E2E_SWARM_WATCH_IMAGE!,
    nextImage: env.E2E_SWARM_NEXT_IMAGE!,
  };
}

/** `docker ARGS`, its standard output trimmed; rejects with its standard error when it fails. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`docker ${args.join(' ')}: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** The replicas the service is told to run. */
export async function desiredReplicas(service: string): Promise<number> {
  return Number(await docker('service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', service));
}

/** The image the service runs (its spec), without the digest Swarm may append. */
export async function serviceImage(service: string): Promise<string> {
  return (await docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', service)).split('@')[0]!;
}

/** The state of the service's last update: completed, paused, rollback_completed, ... ('' if none). */
export async function updateState(service: string): Promise<string> {
  return docker('service', 'inspect', '--format', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', service);
}

/** The images of the service's tasks that are running now. */
export async function runningTaskImages(service: string): Promise<string[]> {
  const lines = await docker('service', 'ps', '--filter', 'desired-state=running', '--format', '{{.CurrentState}}|{{.Image}}', service);
  return lines
    .split('\n')
    .filter((line) => line.startsWith('Running'))
    .map((line) => line.split('|')[1]!.split('@')[0]!);
}

/**
 * The chaos machinery's view of the stack (ChaosRun connects its clients
 * through it): `gateways` is read as the test scales. The scenarios change the
 * stack only through the docker CLI, so the chaos hooks are not offered.
 */
export function chaosTargetOf(swarm: SwarmTarget, gateways: () => number): ChaosTarget {
  const notOffered = () => Promise.reject(new Error('the Swarm scenarios change the stack only through docker service'));
  return {
    wsUrl: swarm.wsUrl,
    ca: swarm.ca,
    get gateways() {
      return gateways();
    },
    kill: notOffered,
    drain: notOffered,
    restart: notOffered,
    restartRedis: notOffered,
    settled: async () => undefined,
    gatewayProblems: () => [],
    close: async () => undefined,
  };
}

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HAPROXY_CONFIG } from '@switchboard/testkit';
import { parse } from 'yaml';

/**
 * infra/swarm/stack.yml as `docker stack config` reads it (the docker CLI only:
 * no engine needed): what it must say for zero-loss rolling updates and a
 * metrics port that stays inside. npm run e2e:swarm deploys it for real.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACK = join(ROOT, 'infra/swarm/stack.yml');
const SWARM_HAPROXY = join(ROOT, 'infra/swarm/haproxy-swarm.cfg');
/** The gateway's defaults (services/gateway/src/config/gateway-config.ts), where the stack does not set them. */
const GATEWAY_DEFAULTS = { DRAIN_DELAY_MS: 3_000, SHUTDOWN_TIMEOUT_MS: 10_000 };

interface StackService {
  image: string;
  environment?: Record<string, string>;
  networks?: Record<string, unknown>;
  ports?: Array<{ mode: string; target: number; published: number }>;
  secrets?: Array<{ source: string; target: string }>;
  configs?: Array<{ source: string; target: string }>;
  volumes?: Array<{ type: string; source: string; target: string }>;
  command?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  deploy: {
    replicas: number;
    endpoint_mode?: string;
    update_config?: { parallelism?: number; order?: string; failure_action?: string };
    restart_policy?: { condition: string };
    resources?: { limits?: { cpus?: string; memory?: string } };
    placement?: { constraints?: string[] };
  };
}
interface Stack {
  services: Record<string, StackService>;
  networks: Record<string, { driver: string; internal?: boolean; attachable?: boolean }>;
  secrets: Record<string, { file?: string }>;
  configs: Record<string, { file: string }>;
}

/** `docker stack config -c stack.yml` with `env` added; undefined (and `t` skipped) without the docker CLI. */
function stackConfig(t: TestContext, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } | undefined {
  const result = spawnSync('docker', ['stack', 'config', '-c', STACK], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, GATEWAY_IMAGE: '', ...env },
  });
  if (result.error) {
    t.skip(`the docker CLI is not installed (${result.error.message})`);
    return undefined;
  }
  if (/unknown (shorthand )?flag|unknown command|is not a docker command/.test(result.stderr)) {
    t.skip(`this docker CLI has no \`docker stack config\` (newer ones have it): ${result.stderr.split('\n')[0]}`);
    return undefined;
  }
  return result;
}

function rendered(t: TestContext): Stack | undefined {
  const result = stackConfig(t, { GATEWAY_IMAGE: 'switchboard/gateway:1.0.0', TLS_PEM_FILE: '/run/switchboard.pem' });
  if (!result) return undefined;
  assert.equal(result.status, 0, `docker stack config: ${result.stderr}`);
  return parse(result.stdout) as Stack;
}

/** A duration of the compose format (`20s`, `1m30s`, `500ms`), in ms. */
function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(amount) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit!]!;
  return total;
}

describe('infra/swarm/stack.yml', () => {
  test('needs GATEWAY_IMAGE, and says so', (t) => {
    const result = stackConfig(t, {});
    if (!result) return;
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /GATEWAY_IMAGE/);
  });

  test('rolls the gateways one at a time, the new one first, back on failure, and restarts them', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    const gateway = stack.services.gateway!;
    assert.equal(gateway.image, 'switchboard/gateway:1.0.0');
    assert.deepEqual(gateway.deploy.update_config, {
      ...gateway.deploy.update_config,
      parallelism: 1,
      order: 'start-first',
      failure_action: 'rollback',
    });
    assert.equal(gateway.deploy.restart_policy?.condition, 'any');
    assert.ok(gateway.deploy.resources?.limits?.cpus && gateway.deploy.resources.limits.memory, 'CPU and memory limits');
    assert.ok(gateway.deploy.replicas >= 2);
    assert.ok(
      gateway.healthcheck?.test.some((part) => part.includes('/healthz')),
      'the health check is liveness (/healthz), not /readyz',
    );
  });

  test('gives a stopping gateway more time than its drain and shutdown take', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    const gateway = stack.services.gateway!;
    const setting = (name: keyof typeof GATEWAY_DEFAULTS) => Number(gateway.environment?.[name] ?? GATEWAY_DEFAULTS[name]);
    const needed = setting('DRAIN_DELAY_MS') + setting('SHUTDOWN_TIMEOUT_MS');
    const grace = durationMs(gateway.stop_grace_period ?? '10s');
    assert.ok(grace > needed, `stop_grace_period ${grace} ms > DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS = ${needed} ms`);
  });

  test('publishes the balancer only, in host mode; the metrics and admin ports stay on internal networks', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    const published = Object.entries(stack.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, ...p })));
    assert.deepEqual(published.map((p) => `${p.name}:${p.target}:${p.mode}`).sort(), ['lb:8080:host', 'lb:8443:host']);
    const gateway = stack.services.gateway!;
    assert.equal(gateway.environment?.METRICS_PORT, '9464');
    assert.equal(
      gateway.environment?.METRICS_HOST,
      '0.0.0.0',
      'the metrics port listens on the container’s addresses, for the admin network',
    );
    assert.ok(Object.keys(gateway.networks ?? {}).includes('admin') && Object.keys(stack.services.lb!.networks ?? {}).includes('admin'));
    assert.deepEqual(stack.networks.admin, { driver: 'overlay', internal: true, attachable: true });
    assert.deepEqual(Object.keys(stack.services.redis!.networks ?? {}), ['redis'], 'Redis is on its own network');
    assert.equal(stack.networks.redis!.internal, true);
  });

  test('keeps Redis on a volume, on the node that holds it, with AOF', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    const redis = stack.services.redis!;
    assert.deepEqual(
      redis.volumes?.map((v) => [v.type, v.source, v.target]),
      [['volume', 'redis-data', '/data']],
    );
    assert.ok(redis.command?.join(' ').includes('--appendonly yes'));
    assert.ok(redis.deploy.placement?.constraints?.length, 'Redis is pinned by a placement constraint');
  });

  test('hands the TLS key to the balancer as a secret, never in an environment variable', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    const lb = stack.services.lb!;
    assert.equal(stack.secrets.tls?.file, '/run/switchboard.pem', 'TLS_PEM_FILE names the secret’s file');
    assert.deepEqual(lb.secrets, [{ source: 'tls', target: 'switchboard.pem' }]);
    assert.equal(lb.environment?.LB_TLS_CERT, '/run/secrets/switchboard.pem');
    const values = Object.values(stack.services).flatMap((s) => Object.values(s.environment ?? {}));
    assert.ok(!values.some((v) => v.includes('PRIVATE KEY')));
  });

  test('points the balancer at every task (tasks.gateway), with no virtual IPs', (t) => {
    const stack = rendered(t);
    if (!stack) return;
    assert.deepEqual(
      Object.values(stack.services).map((s) => s.deploy.endpoint_mode),
      ['dnsrr', 'dnsrr', 'dnsrr'],
    );
    const lb = stack.services.lb!;
    const files = new Map(lb.configs?.map((c) => [c.target, stack.configs[c.source]!.file]));
    assert.equal(files.get('/usr/local/etc/haproxy/haproxy.cfg'), HAPROXY_CONFIG);
    assert.equal(files.get('/usr/local/etc/haproxy/swarm.cfg'), SWARM_HAPROXY);
    assert.deepEqual(lb.command, ['haproxy', '-f', '/usr/local/etc/haproxy/haproxy.cfg', '-f', '/usr/local/etc/haproxy/swarm.cfg']);
    const backends = readFileSync(SWARM_HAPROXY, 'utf8');
    assert.match(backends, /^\s*server-template gw \d+-\d+ tasks\.gateway:8080 check resolvers docker/m);
    assert.match(backends, /^\s*server-template dash \d+-\d+ tasks\.gateway:9464 check resolvers docker/m);
  });

  test('haproxy -c accepts the Swarm configuration', (t) => {
    const check = spawnSync('haproxy', ['-c', '-f', HAPROXY_CONFIG, '-f', SWARM_HAPROXY], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    if (check.error) {
      t.skip('haproxy is not installed');
      return;
    }
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});

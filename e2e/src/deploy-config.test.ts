import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { HAPROXY_CONFIG, HaproxyProcess, localBackendConfig } from '@switchboard/testkit';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const DOCKER_HAPROXY = join(ROOT, 'infra/haproxy/docker.cfg');
const DOCKERFILE = join(ROOT, 'services/gateway/Dockerfile');

interface ComposeService {
  readonly image?: string;
  readonly container_name?: string;
  readonly ports?: ReadonlyArray<string | { published?: string | number; target?: number }>;
  readonly healthcheck?: { test?: unknown };
  readonly depends_on?: Record<string, { condition?: string }> | string[];
  readonly command?: string[];
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service ${name}`);
  return found;
};

/** `docker compose` (v2) if there is one, else `docker-compose` (1.29), else undefined. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

describe('deployment files', () => {
  test('docker-compose.yml validates (docker compose config -q)', (t) => {
    const command = composeCommand();
    if (!command) return t.skip('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)');
    const [bin, ...args] = command;
    const result = spawnSync(bin!, [...args, '-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8', cwd: ROOT });
    assert.equal(result.status, 0, `${command.join(' ')} config -q: ${result.stderr}`);
  });

  test('it has the services redis, gateway and lb, with images that can be substituted', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['gateway', 'lb', 'redis']);
    for (const [name, variable] of [['redis', 'REDIS_IMAGE'], ['gateway', 'GATEWAY_IMAGE'], ['lb', 'HAPROXY_IMAGE']] as const) {
      assert.match(service(name).image ?? '', new RegExp(`^\\$\\{${variable}:-[^}]+\\}$`), `${name}'s image`);
    }
  });

  test('the scaled gateway service has no container_name and no host port, and waits for a healthy redis', () => {
    const gateway = service('gateway');
    assert.equal(gateway.container_name, undefined);
    assert.equal(gateway.ports, undefined);
    assert.deepEqual(gateway.depends_on, { redis: { condition: 'service_healthy' } });
    assert.ok(service('redis').healthcheck?.test, 'redis has a health check');
  });

  test('the load balancer publishes one port, 8080, and loads the shared and the Docker HAProxy files', () => {
    const lb = service('lb');
    assert.equal(lb.ports?.length, 1);
    assert.match(String(lb.ports![0]), /:8080$/);
    assert.ok(lb.command?.some((arg) => arg.endsWith('/haproxy.cfg')));
    assert.ok(lb.command?.some((arg) => arg.endsWith('/docker.cfg')));
  });

  test('haproxy -c accepts the Docker configuration', async () => {
    const { valid, output } = await HaproxyProcess.check([HAPROXY_CONFIG, DOCKER_HAPROXY]);
    assert.ok(valid, output);
  });

  test('haproxy -c accepts the local cluster configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-haproxy-'));
    try {
      const backend = join(dir, 'local.cfg');
      writeFileSync(backend, localBackendConfig([18081, 18082, 18083], 18404));
      const { valid, output } = await HaproxyProcess.check([HAPROXY_CONFIG, backend], { LB_BIND: '127.0.0.1:18080' });
      assert.ok(valid, output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the gateway image is multi-stage, runs as a non-root user, checks /healthz and execs node', () => {
    const dockerfile = readFileSync(DOCKERFILE, 'utf8');
    assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, 'more than one stage');
    assert.match(dockerfile, /npm ci [^\n]*--omit=dev/);
    assert.match(dockerfile, /^USER (?!root\b|0\b)\S+/m);
    assert.match(dockerfile, /^HEALTHCHECK [\s\S]*\/healthz/m);
    assert.match(dockerfile, /^CMD \["node",/m);
  });
});

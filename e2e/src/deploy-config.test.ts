import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { HAPROXY_CONFIG, HaproxyProcess, localBackendConfig, makeTestCertificates } from '@switchboard/testkit';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const CLUSTER_COMPOSE_FILE = join(ROOT, 'docker-compose.cluster.yml');
const CLUSTER_NODE_CONFIG = join(ROOT, 'infra/redis/cluster-node.conf');
const HA_COMPOSE_FILE = join(ROOT, 'docker-compose.ha.yml');
const SENTINEL_CONFIG = join(ROOT, 'infra/redis/sentinel.conf');
/** The Sentinel variant's Sentinels (service names). */
const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
/** The Redis Cluster variant's nodes (service names). */
const CLUSTER_NODES = ['redis', 'redis-2', 'redis-3'];
const DOCKER_HAPROXY = join(ROOT, 'infra/haproxy/docker.cfg');
const DOCKERFILE = join(ROOT, 'services/gateway/Dockerfile');
const LB_START = join(ROOT, 'infra/haproxy/start.sh');
const PROMETHEUS_CONFIG = join(ROOT, 'infra/prometheus/prometheus.yml');
const GRAFANA = join(ROOT, 'infra/grafana');
/** The services of the `observability` profile, which `docker compose up` alone does not start. */
const OBSERVABILITY = ['grafana', 'prometheus'];

interface ComposeService {
  readonly image?: string;
  readonly container_name?: string;
  readonly ports?: ReadonlyArray<string | { published?: string | number; target?: number }>;
  readonly healthcheck?: { test?: unknown };
  readonly depends_on?: Record<string, { condition?: string }> | string[];
  readonly command?: string[];
  readonly entrypoint?: string[];
  readonly profiles?: string[];
  readonly environment?: Record<string, string>;
  readonly volumes?: string[];
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  assert.ok(found, `docker-compose.yml has no service ${name}`);
  return found;
};

/** A redis-server command's `--option value` pairs. */
function redisOptions(redis: ComposeService): Map<string, string> {
  const command = redis.command ?? [];
  assert.equal(command[0], 'redis-server', 'the command runs redis-server');
  const options = new Map<string, string>();
  // A configuration file may come first (redis-server FILE --option value...).
  const first = command[1]?.startsWith('--') ? 1 : 2;
  for (let i = first; i < command.length; i += 2) options.set(command[i]!, command[i + 1] ?? '');
  return options;
}

/** `docker compose` (v2) if there is one, else `docker-compose` (1.29), else undefined. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

type Resolved = { services: Record<string, ComposeService> };

/**
 * `docker compose <args> config` (the files merged, variables substituted), which
 * must succeed; undefined (and `t` skipped) when no compose is installed.
 */
function composeConfig(t: TestContext, args: readonly string[], env: Record<string, string> = {}): Resolved | undefined {
  const command = composeCommand();
  if (!command) {
    t.skip('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)');
    return undefined;
  }
  const [bin, ...first] = command;
  const result = spawnSync(bin!, [...first, ...args, 'config'], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...env } });
  assert.equal(result.status, 0, `${[...command, ...args].join(' ')} config: ${result.stderr}`);
  return parse(result.stdout) as Resolved;
}

describe('deployment files', () => {
  test('docker-compose.yml validates (docker compose config)', (t) => {
    composeConfig(t, ['-f', COMPOSE_FILE]);
  });

  test('docker-compose.yml validates with the observability profile (--profile observability config)', (t) => {
    const resolved = composeConfig(t, ['-f', COMPOSE_FILE, '--profile', 'observability']);
    if (!resolved) return;
    assert.deepEqual(Object.keys(resolved.services).sort(), ['gateway', 'grafana', 'lb', 'prometheus', 'redis']);
  });

  test('it has the services redis, gateway and lb, and prometheus and grafana in the observability profile, with images that can be substituted', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['gateway', 'grafana', 'lb', 'prometheus', 'redis']);
    for (const [name, variable] of [
      ['redis', 'REDIS_IMAGE'],
      ['gateway', 'GATEWAY_IMAGE'],
      ['lb', 'HAPROXY_IMAGE'],
      ['prometheus', 'PROMETHEUS_IMAGE'],
      ['grafana', 'GRAFANA_IMAGE'],
    ] as const) {
      assert.match(service(name).image ?? '', new RegExp(`^\\$\\{${variable}:-[^}]+\\}$`), `${name}'s image`);
    }
    for (const name of Object.keys(compose.services)) {
      assert.deepEqual(service(name).profiles, OBSERVABILITY.includes(name) ? ['observability'] : undefined, `${name}'s profiles`);
    }
  });

  test('the gateways serve metrics on their own port, which only the network reaches; admin ports are published on 127.0.0.1 only', () => {
    const gateway = service('gateway');
    assert.equal(gateway.environment?.METRICS_PORT, '9464');
    assert.equal(gateway.environment?.METRICS_HOST, '0.0.0.0', 'Prometheus and the balancer reach it from other containers');
    assert.notEqual(gateway.environment?.PORT, gateway.environment?.METRICS_PORT);
    for (const name of OBSERVABILITY) {
      const ports = service(name).ports ?? [];
      assert.equal(ports.length, 1);
      assert.match(
        typeof ports[0] === 'string' ? ports[0] : JSON.stringify(ports[0]),
        /^\$\{[A-Z_]+_PUBLISH:-127\.0\.0\.1:\d+\}:\d+$/,
        `${name} publishes on 127.0.0.1 only`,
      );
    }
  });

  test("promtool check config accepts infra/prometheus/prometheus.yml, which finds the gateways through Docker's DNS and scrapes HAProxy", (t) => {
    const config = readFileSync(PROMETHEUS_CONFIG, 'utf8');
    const scrape = (
      parse(config) as {
        scrape_configs: Array<{
          job_name: string;
          dns_sd_configs?: Array<{ names: string[]; port: number }>;
          static_configs?: Array<{ targets: string[] }>;
        }>;
      }
    ).scrape_configs;
    const gateways = scrape.find((job) => job.dns_sd_configs);
    assert.deepEqual(gateways?.dns_sd_configs?.[0]?.names, ['gateway']);
    assert.equal(gateways?.dns_sd_configs?.[0]?.port, 9464);
    assert.ok(
      scrape.some((job) => job.static_configs?.some((s) => s.targets.includes('lb:8404'))),
      "HAProxy's exporter is scraped",
    );
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('promtool is not installed (apt-get install prometheus)');
      return;
    }
    const result = spawnSync('promtool', ['check', 'config', PROMETHEUS_CONFIG], { encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check config:\n${result.stdout}${result.stderr}`);
  });

  test('Grafana gets the Prometheus data source and the board provisioned, and every panel names that data source', () => {
    const sources = parse(readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ uid: string; url: string }>;
    };
    const [source] = sources.datasources;
    assert.equal(source?.url, 'http://prometheus:9090');
    const providers = parse(readFileSync(join(GRAFANA, 'provisioning/dashboards/switchboard.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const grafana = service('grafana');
    const mounted = (grafana.volumes ?? []).map((v) => v.split(':')[1]);
    assert.ok(mounted.includes(providers.providers[0]?.options.path), 'the provider reads the mounted boards');
    const board = JSON.parse(readFileSync(join(GRAFANA, 'dashboards/switchboard.json'), 'utf8')) as {
      panels: Array<{ type: string; title: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    const graphs = board.panels.filter((p) => p.type !== 'row');
    assert.ok(graphs.length >= 12);
    for (const panel of graphs) {
      assert.equal(panel.datasource?.uid, source?.uid, `panel "${panel.title}"`);
      assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has a query`);
    }
  });

  test('the scaled gateway service has no container_name and no host port, and waits for a healthy redis', () => {
    const gateway = service('gateway');
    assert.equal(gateway.container_name, undefined);
    assert.equal(gateway.ports, undefined);
    assert.deepEqual(gateway.depends_on, { redis: { condition: 'service_healthy' } });
    assert.ok(service('redis').healthcheck?.test, 'redis has a health check');
  });

  test('Redis is bounded: --maxmemory (REDIS_MAXMEMORY, 256mb by default) with --maxmemory-policy noeviction, never evicting', () => {
    const options = redisOptions(service('redis'));
    assert.equal(options.get('--maxmemory'), '${REDIS_MAXMEMORY:-256mb}');
    assert.equal(options.get('--maxmemory-policy'), 'noeviction');
  });

  test('REDIS_MAXMEMORY overrides the bound (docker compose config)', (t) => {
    const resolved = composeConfig(t, ['-f', COMPOSE_FILE], { REDIS_MAXMEMORY: '64mb' });
    if (!resolved) return;
    const options = redisOptions(resolved.services.redis!);
    assert.equal(options.get('--maxmemory'), '64mb');
    assert.equal(options.get('--maxmemory-policy'), 'noeviction');
  });

  test('docker-compose.cluster.yml, on top of docker-compose.yml, runs 3 Redis Cluster nodes, a one-shot job that joins them, and gateways on REDIS_CLUSTER', (t) => {
    const resolved = composeConfig(t, ['-f', COMPOSE_FILE, '-f', CLUSTER_COMPOSE_FILE]);
    if (!resolved) return;
    // Those that `up` starts (docker-compose 1.29's config also lists the profiles' services).
    const started = Object.keys(resolved.services).filter((name) => resolved.services[name]!.profiles === undefined);
    assert.deepEqual(started.sort(), ['gateway', 'lb', 'redis', 'redis-2', 'redis-3', 'redis-cluster']);
    const gateway = resolved.services.gateway!;
    // Empty counts as unset (the gateway refuses REDIS_URL and REDIS_CLUSTER together).
    assert.equal(gateway.environment?.REDIS_URL, '');
    assert.equal(gateway.environment?.REDIS_CLUSTER, CLUSTER_NODES.map((n) => `${n}:6379`).join(','));
    assert.deepEqual(gateway.depends_on, {
      redis: { condition: 'service_healthy' },
      'redis-cluster': { condition: 'service_completed_successfully' },
    });
    assert.match(JSON.stringify(resolved.services.redis!.healthcheck?.test), /cluster_state:ok/);
    const job = resolved.services['redis-cluster']!;
    assert.deepEqual(job.command, CLUSTER_NODES);
    assert.ok(job.entrypoint?.some((arg) => arg.endsWith('/create-cluster.sh')));
    for (const name of CLUSTER_NODES) {
      const node: ComposeService = resolved.services[name]!;
      const options = redisOptions(node);
      assert.equal(node.command?.[1], '/usr/local/etc/redis/cluster-node.conf', `${name} reads the cluster node configuration`);
      assert.equal(options.get('--cluster-announce-hostname'), name, `${name} announces its service name`);
      assert.equal(options.get('--maxmemory'), '256mb', `${name}'s memory bound`);
      assert.equal(options.get('--maxmemory-policy'), 'noeviction', `${name} never evicts`);
      assert.ok(
        node.volumes?.some((v) => v.split(':')[1] === '/data'),
        `${name} keeps its data (append-only file, nodes.conf) on a volume`,
      );
    }
    const conf = readFileSync(CLUSTER_NODE_CONFIG, 'utf8');
    // A shard that is down refuses only its own slots (issue 21): the rooms on the others carry on.
    for (const line of [
      'cluster-enabled yes',
      'cluster-preferred-endpoint-type hostname',
      'cluster-require-full-coverage no',
      'appendonly yes',
      'dir /data',
    ]) {
      assert.match(conf, new RegExp(`^${line}$`, 'm'));
    }
  });

  test('docker-compose.ha.yml, on top of docker-compose.yml, runs a master, its replica and 3 Sentinels, and gateways on REDIS_SENTINELS', (t) => {
    const resolved = composeConfig(t, ['-f', COMPOSE_FILE, '-f', HA_COMPOSE_FILE]);
    if (!resolved) return;
    const started = Object.keys(resolved.services).filter((name) => resolved.services[name]!.profiles === undefined);
    assert.deepEqual(started.sort(), ['gateway', 'lb', 'redis', 'redis-replica', ...SENTINELS]);
    const gateway = resolved.services.gateway!;
    // Empty counts as unset (the gateway refuses REDIS_URL and REDIS_SENTINELS together).
    assert.equal(gateway.environment?.REDIS_URL, '');
    assert.equal(gateway.environment?.REDIS_CLUSTER, undefined);
    assert.equal(gateway.environment?.REDIS_SENTINELS, SENTINELS.map((n) => `${n}:26379`).join(','));
    assert.deepEqual(gateway.depends_on, {
      redis: { condition: 'service_healthy' },
      ...Object.fromEntries(SENTINELS.map((n) => [n, { condition: 'service_healthy' }])),
    });

    const master = redisOptions(resolved.services.redis!);
    const replica = redisOptions(resolved.services['redis-replica']!);
    assert.equal(master.get('--min-replicas-to-write'), '1', 'the master refuses writes with no replica in reach');
    assert.equal(master.get('--min-replicas-max-lag'), '10');
    assert.equal(replica.get('--replicaof'), 'redis', 'the replica replicates redis');
    assert.equal(replica.get('--min-replicas-to-write'), undefined, 'a promoted replica takes writes alone');
    for (const [name, options] of [
      ['redis', master],
      ['redis-replica', replica],
    ] as const) {
      assert.equal(options.get('--replica-announce-ip'), name, `${name} announces its service name`);
      assert.equal(options.get('--appendonly'), 'yes', `${name} keeps an append-only file`);
      assert.equal(options.get('--appendfsync'), 'always');
      assert.equal(options.get('--maxmemory'), '256mb', `${name}'s memory bound`);
      assert.equal(options.get('--maxmemory-policy'), 'noeviction', `${name} never evicts`);
    }
    assert.ok(
      resolved.services['redis-replica']!.volumes?.some((v) => v.split(':')[1] === '/data'),
      'the replica keeps its data on a volume',
    );
    // The replica's `--replicaof redis 6379`: the pair parser above reads its port as the next option's name.
    assert.deepEqual(resolved.services['redis-replica']!.command?.slice(-3), ['--replicaof', 'redis', '6379']);

    for (const name of SENTINELS) {
      const sentinel = resolved.services[name]!;
      assert.match(
        sentinel.entrypoint?.join(' ') ?? '',
        /redis-server \/tmp\/sentinel\.conf --sentinel/,
        `${name} runs a Sentinel on a writable copy`,
      );
      assert.match(
        JSON.stringify(sentinel.healthcheck?.test),
        /ckquorum switchboard/,
        `${name} is healthy once a failover can be authorised`,
      );
    }
    const conf = readFileSync(SENTINEL_CONFIG, 'utf8');
    for (const line of [
      'port 26379',
      'protected-mode no',
      'sentinel resolve-hostnames yes',
      'sentinel announce-hostnames yes',
      'sentinel monitor switchboard redis 6379 2',
      'sentinel down-after-milliseconds switchboard \\d+',
      'sentinel failover-timeout switchboard \\d+',
    ]) {
      assert.match(conf, new RegExp(`^${line}$`, 'm'));
    }
  });

  test('the load balancer publishes 8080, and 8443 (TLS) and its admin listener on 127.0.0.1 only unless told otherwise, and loads the shared and the Docker HAProxy files', () => {
    const lb = service('lb');
    assert.deepEqual(lb.ports, [
      '${LB_PUBLISH:-8080}:8080',
      '${LB_TLS_PUBLISH:-127.0.0.1:8443}:8443',
      '${ADMIN_PUBLISH:-127.0.0.1:8404}:8404',
    ]);
    assert.equal(lb.environment?.ADMIN_BIND, ':8404');
    assert.ok(lb.command?.some((arg) => arg.endsWith('/haproxy.cfg')));
    assert.ok(lb.command?.some((arg) => arg.endsWith('/docker.cfg')));
  });

  test('it declares only volumes that `docker compose up` uses (docker-compose 1.29 creates every volume declared, whatever the profiles)', () => {
    for (const volume of Object.keys(compose.volumes ?? {})) {
      const users = Object.entries(compose.services).filter(
        ([, s]) => s.profiles === undefined && (s.volumes ?? []).some((v) => v.split(':')[0] === volume),
      );
      assert.ok(users.length > 0, `the volume ${volume} is used by a service that runs without a profile`);
    }
  });

  test('the load balancer starts through start.sh, which serves TLS only when the mounted certificate exists', () => {
    const lb = service('lb');
    assert.deepEqual(lb.entrypoint, ['/bin/sh', '/usr/local/etc/haproxy/start.sh']);
    const certificate = lb.environment?.LB_TLS_CERT ?? '';
    const mount = lb.volumes?.find((volume) => volume.startsWith('${LB_TLS_DIR:-./infra/tls}:'));
    assert.ok(mount, 'infra/tls (or LB_TLS_DIR) is mounted');
    assert.ok(certificate.startsWith(`${mount.split(':').at(-2)}/`), `LB_TLS_CERT (${certificate}) is in the mounted folder`);
  });

  test('start.sh unsets LB_TLS_CERT when no file is there (plain HTTP, as before), keeps it when one is', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-lb-start-'));
    try {
      const pem = join(dir, 'switchboard.pem');
      const run = () =>
        spawnSync('sh', [LB_START, 'sh', '-c', 'echo "LB_TLS_CERT=${LB_TLS_CERT-unset}"'], {
          encoding: 'utf8',
          env: { PATH: '/usr/bin:/bin', LB_TLS_CERT: pem },
        });
      const without = run();
      assert.equal(without.status, 0, without.stderr);
      assert.match(without.stdout, /no certificate at .*: plain HTTP only/);
      assert.match(without.stdout, /^LB_TLS_CERT=unset$/m);
      writeFileSync(pem, 'a certificate');
      const withCert = run();
      assert.equal(withCert.status, 0, withCert.stderr);
      assert.match(withCert.stdout, new RegExp(`^LB_TLS_CERT=${pem}$`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('certificates in infra/tls stay out of git and out of the gateway image', () => {
    assert.match(readFileSync(join(ROOT, 'infra/tls/.gitignore'), 'utf8'), /^\*$/m);
    assert.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^infra\/tls$/m);
  });

  test('haproxy -c accepts the Docker and the local cluster configurations, each without and with TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-haproxy-'));
    const certs = await makeTestCertificates();
    try {
      const backend = join(dir, 'local.cfg');
      writeFileSync(backend, localBackendConfig([18081, 18082, 18083], [19461, 19462, 19463]));
      const tls = { LB_TLS_CERT: certs.pemFile, LB_TLS_BIND: '127.0.0.1:18443', LB_HTTPS_PORT: '18443' };
      const variants: Array<[string, string[], Record<string, string | undefined>]> = [
        ['Docker', [HAPROXY_CONFIG, DOCKER_HAPROXY], { LB_TLS_CERT: undefined }],
        ['Docker with TLS', [HAPROXY_CONFIG, DOCKER_HAPROXY], tls],
        ['local', [HAPROXY_CONFIG, backend], { LB_BIND: '127.0.0.1:18080', ADMIN_BIND: '127.0.0.1:18404', LB_TLS_CERT: undefined }],
        ['local with TLS', [HAPROXY_CONFIG, backend], { LB_BIND: '127.0.0.1:18080', ADMIN_BIND: '127.0.0.1:18404', ...tls }],
      ];
      for (const [name, files, env] of variants) {
        const { valid, output } = await HaproxyProcess.check(files, env);
        assert.ok(valid, `${name}: ${output}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      certs.dispose();
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

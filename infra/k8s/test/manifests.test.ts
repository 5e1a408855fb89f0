import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { SETTINGS, defaultConfig, loadConfig } from '../../../services/gateway/src/config/gateway-config.js';
import { createHttpApp } from '../../../services/gateway/src/http/app.js';
import { createLogger } from '../../../services/gateway/src/logger.js';
import { schemaProblems } from './k8s-schema.js';
import { kustomize, podContainers, type K8sObject } from './kustomize.js';

const K8S = fileURLToPath(new URL('..', import.meta.url));
const OVERLAYS = readdirSync(join(K8S, 'overlays')).sort();
/**
 * Settings the manifests set that the gateway does not declare yet: METRICS_HOST
 * comes with the change that binds the metrics port to 127.0.0.1 unless told
 * otherwise. Until then the gateway ignores it (its metrics port listens on HOST).
 */
const PENDING_SETTINGS = new Set(['METRICS_HOST']);
const GATEWAY_SETTINGS = new Set<string>([...Object.values(SETTINGS).map((s) => s.env), ...PENDING_SETTINGS]);

type Container = ReturnType<typeof podContainers>[number] & {
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean; runAsUser?: number };
};
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
type Labels = Record<string, string>;

const rendered = new Map<string, K8sObject[]>(OVERLAYS.map((overlay) => [overlay, kustomize(join(K8S, 'overlays', overlay))]));

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `a ${kind} named ${name}`);
  return found;
}
const spec = <T>(object: K8sObject): T => object.spec as T;
const podSpecOf = (object: K8sObject): PodSpec => spec<{ template: { spec: PodSpec } }>(object).template.spec;
const podLabelsOf = (object: K8sObject): Labels => spec<{ template: { metadata: { labels: Labels } } }>(object).template.metadata.labels;
const gatewayOf = (objects: readonly K8sObject[]): Container => {
  const container = podContainers(find(objects, 'Deployment', 'gateway')).find((c) => c.name === 'gateway');
  assert.ok(container, 'the Deployment has a container named gateway');
  return container;
};
const envOf = (container: Container): Record<string, string> =>
  Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
const selects = (selector: Labels, labels: Labels): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
/** A container port by number or by name, as a probe, Service or NetworkPolicy names it. */
const portNumber = (container: Container, port: string | number): number | undefined =>
  typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
/** A whole number of milliseconds from the gateway's configuration, with the rendered environment. */
function gatewayConfig(container: Container) {
  const config = loadConfig([], envOf(container));
  assert.notEqual(config, 'help');
  return config as ReturnType<typeof defaultConfig>;
}

/** `kubectl kustomize` when kubectl is installed with kustomize v4 or later (its `resources` take folders), else why not. */
function kubectlKustomize(): ((dir: string) => K8sObject[]) | string {
  const version = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'kubectl is not installed';
  const kustomizeVersion = (JSON.parse(version.stdout) as { kustomizeVersion?: string }).kustomizeVersion ?? '';
  if (Number(/^v(\d+)/.exec(kustomizeVersion)?.[1] ?? 0) < 4)
    return `kubectl's kustomize is ${kustomizeVersion || 'unknown'}, older than v4`;
  return (dir) => {
    const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, `kubectl kustomize ${dir}: ${run.stderr}`);
    return parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject);
  };
}

describe('infra/k8s', () => {
  it('has the two overlays the README names', () => {
    assert.deepEqual(OVERLAYS, ['external-redis-cluster', 'in-cluster-redis']);
  });

  it('renders every overlay as kubectl kustomize does', (t) => {
    const kubectl = kubectlKustomize();
    if (typeof kubectl === 'string') {
      t.skip(`${kubectl}: rendered with the test's own renderer (infra/k8s/test/kustomize.ts) only`);
      return;
    }
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sorted = (list: readonly K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    for (const overlay of OVERLAYS) {
      assert.deepEqual(sorted(rendered.get(overlay)!), sorted(kubectl(join(K8S, 'overlays', overlay))), `overlay ${overlay}`);
    }
  });

  for (const overlay of OVERLAYS) {
    describe(`overlay ${overlay}`, () => {
      const objects = rendered.get(overlay)!;

      it('is valid against the Kubernetes API schemas, with no field they do not have', async () => {
        const problems: string[] = [];
        for (const object of objects) {
          for (const problem of await schemaProblems(object)) problems.push(`${object.kind} ${object.metadata.name}: ${problem}`);
        }
        assert.deepEqual(problems, []);
      });

      it('puts everything in the namespace switchboard', () => {
        find(objects, 'Namespace', 'switchboard');
        const elsewhere = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'switchboard');
        assert.deepEqual(
          elsewhere.map((o) => `${o.kind} ${o.metadata.name}`),
          [],
        );
      });

      it('gives the gateway only settings it knows, with values it accepts', () => {
        const gateway = gatewayOf(objects);
        const unknown = Object.keys(envOf(gateway)).filter((name) => !GATEWAY_SETTINGS.has(name));
        assert.deepEqual(unknown, [], 'every variable is a setting of services/gateway/src/config/gateway-config.ts');
        gatewayConfig(gateway);
      });

      it('probes paths the gateway answers: readiness /readyz, liveness /healthz, on its HTTP port', () => {
        const gateway = gatewayOf(objects);
        const port = gatewayConfig(gateway).port;
        assert.equal(gateway.readinessProbe?.httpGet?.path, '/readyz?for=clients');
        assert.equal(gateway.livenessProbe?.httpGet?.path, '/healthz');
        for (const probe of [gateway.readinessProbe, gateway.livenessProbe, gateway.startupProbe]) {
          if (probe?.httpGet) assert.equal(portNumber(gateway, probe.httpGet.port), port, `${probe.httpGet.path} is probed on PORT`);
        }
      });

      it('gives a stopping pod more time than preStop, the drain and the shutdown take', () => {
        const deployment = find(objects, 'Deployment', 'gateway');
        const gateway = gatewayOf(objects);
        const config = gatewayConfig(gateway);
        const preStop = gateway.lifecycle?.preStop;
        const preStopSeconds = preStop?.sleep?.seconds ?? (preStop?.exec?.command[0] === 'sleep' ? Number(preStop.exec.command[1]) : NaN);
        assert.ok(Number.isFinite(preStopSeconds), `preStop waits a known time: ${JSON.stringify(preStop)}`);
        const needed = preStopSeconds + (config.drainDelayMs + config.shutdownTimeoutMs) / 1000;
        const grace = podSpecOf(deployment).terminationGracePeriodSeconds ?? 30;
        assert.ok(
          grace > needed,
          `terminationGracePeriodSeconds ${grace} > preStop ${preStopSeconds} s + DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS = ${needed} s`,
        );
      });

      it('keeps capacity in a rolling update, and one disruption at a time', () => {
        const deployment = find(objects, 'Deployment', 'gateway');
        const strategy = spec<{ strategy: { type: string; rollingUpdate: { maxUnavailable: number } } }>(deployment).strategy;
        assert.equal(strategy.type, 'RollingUpdate');
        assert.equal(strategy.rollingUpdate.maxUnavailable, 0, 'no gateway stops before its replacement is ready');
        const pdb = spec<{ maxUnavailable?: number; selector: { matchLabels: Labels } }>(find(objects, 'PodDisruptionBudget', 'gateway'));
        assert.equal(pdb.maxUnavailable, 1);
        assert.ok(selects(pdb.selector.matchLabels, podLabelsOf(deployment)), 'the PodDisruptionBudget covers the gateways');
      });

      it('scales the gateways on CPU with a HorizontalPodAutoscaler', () => {
        const hpa = spec<{
          scaleTargetRef: { kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
          metrics: Array<{ type: string; resource?: { name: string } }>;
        }>(find(objects, 'HorizontalPodAutoscaler', 'gateway'));
        assert.deepEqual([hpa.scaleTargetRef.kind, hpa.scaleTargetRef.name], ['Deployment', 'gateway']);
        assert.ok(hpa.minReplicas >= 2 && hpa.maxReplicas > hpa.minReplicas, `${hpa.minReplicas}..${hpa.maxReplicas} gateways`);
        assert.ok(hpa.metrics.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'));
        assert.ok(gatewayOf(objects).resources?.requests?.cpu, 'CPU utilisation needs a CPU request');
      });

      it('serves the HTTP port in the Service and the Ingress, never the metrics port', () => {
        const gateway = gatewayOf(objects);
        const config = gatewayConfig(gateway);
        assert.ok(config.metricsPort, 'the gateways have a metrics port (METRICS_PORT)');
        const service = spec<{ selector: Labels; ports: Array<{ name: string; port: number; targetPort: string | number }> }>(
          find(objects, 'Service', 'gateway'),
        );
        assert.ok(selects(service.selector, podLabelsOf(find(objects, 'Deployment', 'gateway'))), 'the Service selects the gateways');
        assert.deepEqual(
          service.ports.map((p) => portNumber(gateway, p.targetPort)),
          [config.port],
          'the Service has the HTTP port and nothing else (not METRICS_PORT)',
        );
        const ingress = find(objects, 'Ingress', 'gateway');
        const backends = spec<{
          rules: Array<{ http: { paths: Array<{ backend: { service: { name: string; port: { name?: string } } } }> } }>;
        }>(ingress).rules.flatMap((r) => r.http.paths.map((p) => p.backend.service));
        assert.ok(
          backends.length > 0 && backends.every((b) => b.name === 'gateway' && b.port.name === 'http'),
          'the Ingress sends to the Service',
        );
        const annotations = (ingress.metadata.annotations ?? {}) as Record<string, string>;
        for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
          assert.ok(
            Number(annotations[`nginx.ingress.kubernetes.io/${timeout}`]) >= 3600,
            `${timeout} keeps an idle WebSocket open for an hour at least`,
          );
        }
      });

      it('lets only Prometheus reach the metrics port, by a NetworkPolicy', () => {
        const gateway = gatewayOf(objects);
        const config = gatewayConfig(gateway);
        const policy = spec<{
          podSelector: { matchLabels: Labels };
          policyTypes: string[];
          ingress: Array<{ from?: Array<{ podSelector?: { matchLabels?: Labels } }>; ports: Array<{ port: string | number }> }>;
        }>(find(objects, 'NetworkPolicy', 'gateway'));
        assert.ok(selects(policy.podSelector.matchLabels, podLabelsOf(find(objects, 'Deployment', 'gateway'))), 'it selects the gateways');
        assert.ok(policy.policyTypes.includes('Ingress'));
        const metricsRules = policy.ingress.filter((rule) => rule.ports.some((p) => portNumber(gateway, p.port) === config.metricsPort));
        assert.ok(metricsRules.length > 0, 'a rule names the metrics port');
        for (const rule of metricsRules) {
          assert.ok(
            rule.from?.length && rule.from.every((peer) => Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0),
            `the metrics port is open to chosen pods only: ${JSON.stringify(rule)}`,
          );
        }
        assert.ok(
          policy.ingress.some((rule) => !rule.from && rule.ports.some((p) => portNumber(gateway, p.port) === config.port)),
          'the HTTP port is open (to the Ingress controller)',
        );
      });

      it('runs every container as non-root on a read-only root filesystem, with limits', () => {
        const problems: string[] = [];
        for (const object of objects) {
          const pod = object.kind === 'Deployment' || object.kind === 'StatefulSet' ? podSpecOf(object) : undefined;
          if (!pod) continue;
          for (const container of podContainers(object) as Container[]) {
            const where = `${object.kind} ${object.metadata.name}, container ${container.name}`;
            const nonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
            const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
            if (nonRoot !== true || user === 0) problems.push(`${where}: not runAsNonRoot`);
            if (user === undefined) problems.push(`${where}: no numeric runAsUser (the kubelet cannot check a named USER is not root)`);
            if (container.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem writable`);
            if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: may escalate privileges`);
            if (!container.resources?.limits?.memory || !container.resources.limits.cpu)
              problems.push(`${where}: no CPU and memory limits`);
            if (!container.resources?.requests?.memory || !container.resources.requests.cpu)
              problems.push(`${where}: no CPU and memory requests`);
          }
        }
        assert.deepEqual(problems, []);
      });
    });
  }

  it('in-cluster-redis: the gateways use the Redis it runs, on a volume, reachable by the gateways only', () => {
    const objects = rendered.get('in-cluster-redis')!;
    const env = envOf(gatewayOf(objects));
    assert.equal(env.REDIS_URL, 'redis://redis:6379');
    assert.equal(env.REDIS_CLUSTER, undefined);
    const redis = find(objects, 'StatefulSet', 'redis');
    assert.ok(spec<{ volumeClaimTemplates: unknown[] }>(redis).volumeClaimTemplates.length > 0, 'Redis keeps its data on a volume');
    const service = spec<{ selector: Labels }>(find(objects, 'Service', 'redis'));
    assert.ok(selects(service.selector, podLabelsOf(redis)), 'the Service redis selects Redis');
    const policy = spec<{
      podSelector: { matchLabels: Labels };
      ingress: Array<{ from: Array<{ podSelector: { matchLabels: Labels } }> }>;
    }>(find(objects, 'NetworkPolicy', 'redis'));
    assert.ok(selects(policy.podSelector.matchLabels, podLabelsOf(redis)));
    const gatewayLabels = podLabelsOf(find(objects, 'Deployment', 'gateway'));
    assert.ok(
      policy.ingress.every((rule) => rule.from.every((peer) => selects(peer.podSelector.matchLabels, gatewayLabels))),
      'only the gateways reach Redis',
    );
  });

  it('external-redis-cluster: the gateways use REDIS_CLUSTER, and no Redis of their own', () => {
    const objects = rendered.get('external-redis-cluster')!;
    const gateway = gatewayOf(objects);
    const env = envOf(gateway);
    assert.equal(env.REDIS_URL, undefined);
    const config = gatewayConfig(gateway);
    assert.ok(config.redisCluster && config.redisCluster.length >= 1, `REDIS_CLUSTER names the cluster's masters: ${env.REDIS_CLUSTER}`);
    assert.deepEqual(
      objects.filter((o) => o.metadata.name === 'redis').map((o) => o.kind),
      [],
    );
  });
});

describe("the gateway's probe paths", () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = createHttpApp({
      publicDir: fileURLToPath(new URL('.', import.meta.url)),
      readiness: () => ({ ready: true }),
      logger: createLogger('silent', 'k8s-test'),
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answer 200 where the manifests probe, and 404 elsewhere', async () => {
    const gateway = gatewayOf(rendered.get(OVERLAYS[0]!)!);
    const paths = [gateway.readinessProbe, gateway.livenessProbe, gateway.startupProbe].flatMap((p) =>
      p?.httpGet ? [p.httpGet.path] : [],
    );
    assert.ok(paths.length >= 2);
    for (const path of paths) assert.equal((await fetch(base + path)).status, 200, `GET ${path}`);
    assert.equal((await fetch(`${base}/no-such-probe`)).status, 404, 'a path the gateway does not serve answers 404');
  });
});

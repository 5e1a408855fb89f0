import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type ClusterReport } from '@switchboard/protocol';
import { ChatClient, eventually, GatewayProcess, RedisServer, scrape, type Scrape } from '@switchboard/testkit';
import { DASHBOARD_CSP } from '../../src/dashboard/dashboard-routes.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const GRAFANA_DASHBOARD = `${ROOT}infra/grafana/dashboards/switchboard.json`;
const README = `${ROOT}README.md`;
/** Longest wait for the stats records of every node to show up, in ms. */
const STATS_WAIT_MS = 15_000;

/** Every metric family a scrape names (# TYPE), and the series names of each (a histogram's _bucket, _sum, _count). */
function seriesNames(s: Scrape): Set<string> {
  const names = new Set<string>();
  for (const [family, type] of s.types) {
    names.add(family);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
  }
  return names;
}

/** How often /cluster.json is read again while waiting on it, in ms. */
const STATS_POLL_MS = 200;

/** Poll /cluster.json until `ready` holds of it. */
function clusterReport(url: string, ready: (r: ClusterReport) => boolean, what: string, query = ''): Promise<ClusterReport> {
  return eventually(
    async () => {
      const report = (await (await fetch(`${url}/cluster.json${query}`)).json()) as ClusterReport;
      assert.ok(ready(report), JSON.stringify(report.nodes));
      return report;
    },
    { timeoutMs: STATS_WAIT_MS, intervalMs: STATS_POLL_MS, what },
  );
}

describe('metrics on two gateways over Redis (METRICS_PORT)', () => {
  let redis: RedisServer;
  let a: GatewayProcess;
  let b: GatewayProcess;

  before(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, METRICS_PORT: '0', RESUME_GRACE_MS: '10000' };
    [a, b] = await Promise.all([
      GatewayProcess.start({ env: { ...env, NODE_ID: 'metrics-a' } }),
      GatewayProcess.start({ env: { ...env, NODE_ID: 'metrics-b' } }),
    ]);
  });

  after(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.dispose();
  });

  it('serves /metrics on its own port only: the public port answers 404', async () => {
    const response = await fetch(`${a.metricsUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^switchboard_node_info\{node="metrics-a",bus="redis"\} 1$/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m, "prom-client's default metrics, event-loop lag included");
    assert.match(text, /^process_resident_memory_bytes /m);
    assert.equal((await fetch(`${a.httpUrl}/metrics`)).status, 404);
    assert.equal((await fetch(`${a.httpUrl}/cluster.json`)).status, 404);
  });

  it("serves the dashboard's page and files under its CSP, and no source map", async () => {
    const files = [
      ['/', /^text\/html/],
      ['/dashboard.js', /^text\/javascript/],
      ['/dashboard.css', /^text\/css/],
      ['/favicon.svg', /^image\/svg\+xml/],
    ] as const;
    for (const [path, type] of files) {
      const response = await fetch(`${a.metricsUrl}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', type, path);
      assert.equal(response.headers.get('content-security-policy'), DASHBOARD_CSP, path);
    }
    assert.doesNotMatch(await (await fetch(`${a.metricsUrl}/dashboard.js`)).text(), /sourceMappingURL/);
    assert.equal((await fetch(`${a.metricsUrl}/dashboard.js.map`)).status, 404, 'run `npm run build` (not bundle:dev) before the tests');
    assert.equal((await fetch(`${a.httpUrl}/dashboard.js`)).status, 404, 'the dashboard is on the metrics port only');
  });

  it('counts a line once per client that receives it, on each node, and its bytes', async () => {
    const [a1, a2, b1] = await Promise.all([ChatClient.connect(a.wsUrl), ChatClient.connect(a.wsUrl), ChatClient.connect(b.wsUrl)]);
    // Every connect notice has reached everyone once b1's marker has.
    await b1.barrier();
    await Promise.all([a1, a2].map((c) => c.waitFor((f) => f.type === 'message' && f.message.startsWith('barrier'), 'the barrier')));
    const [beforeA, beforeB] = await Promise.all([scrape(`${a.metricsUrl}/metrics`), scrape(`${b.metricsUrl}/metrics`)]);

    const line = 'counted once per client';
    a1.send(line);
    const [frame] = await Promise.all([a1, a2, b1].map((c) => c.waitForMessage('message', line)));
    const [afterA, afterB] = await Promise.all([scrape(`${a.metricsUrl}/metrics`), scrape(`${b.metricsUrl}/metrics`)]);

    const delta = (before: Scrape, later: Scrape, name: string, labels?: Record<string, string>) =>
      later.value(name, labels) - before.value(name, labels);
    assert.equal(delta(beforeA, afterA, 'switchboard_deliveries_total'), 2, 'node a has two clients');
    assert.equal(delta(beforeB, afterB, 'switchboard_deliveries_total'), 1, 'node b has one');
    const bytes = Buffer.byteLength(JSON.stringify(frame));
    assert.equal(delta(beforeA, afterA, 'switchboard_delivered_bytes_total'), 2 * bytes);
    assert.equal(delta(beforeA, afterA, 'switchboard_events_published_total', { type: 'message' }), 1);
    assert.equal(delta(beforeB, afterB, 'switchboard_events_published_total', { type: 'message' }), 0, 'published where it was sent');
    assert.equal(delta(beforeA, afterA, 'switchboard_client_frames_received_total'), 1);
    assert.equal(delta(beforeA, afterA, 'switchboard_publish_latency_seconds_count'), 1);
    assert.equal(delta(beforeB, afterB, 'switchboard_bus_to_socket_latency_seconds_count'), 1, 'one live event reached node b');
    assert.equal(afterA.value('switchboard_connections', { protocol: 'v1' }), 2);
    assert.equal(afterB.value('switchboard_connections', { protocol: 'v1' }), 1);
    assert.equal(afterA.value('switchboard_bus_up'), 1);
    assert.equal(afterA.value('switchboard_ready'), 1);

    await Promise.all([a1, a2, b1].map((c) => c.close()));
  });

  it('counts a refused upgrade by its reason, and a refused frame by its error code', async () => {
    const before = await scrape(`${a.metricsUrl}/metrics`);
    await assert.rejects(ChatClient.connect(`ws://127.0.0.1:${a.port}/not-the-endpoint`), /404/);
    const client = await ChatClient.connect(a.wsUrl);
    client.send('   ');
    await client.waitFor((f) => f.type === 'error', 'the refusal');
    const later = await scrape(`${a.metricsUrl}/metrics`);
    assert.equal(
      later.value('switchboard_connections_refused_total', { reason: 'not_found' }) -
        before.value('switchboard_connections_refused_total', { reason: 'not_found' }),
      1,
    );
    const refused = (s: Scrape) => s.value('switchboard_client_frames_refused_total', { code: ErrorCode.EMPTY_MESSAGE });
    assert.equal(refused(later) - refused(before), 1);
    for (const reason of ['origin', 'limits', 'not_ready']) {
      assert.equal(
        later.samples.filter((s) => s.name === 'switchboard_connections_refused_total' && s.labels.reason === reason).length,
        1,
        `${reason} is exported from the start`,
      );
    }
    await client.close();
  });

  it('counts resumes by outcome and the events replayed', async () => {
    const resumes = (s: Scrape, outcome: string) => s.value('switchboard_resumes_total', { outcome });
    const [beforeA, beforeB] = await Promise.all([scrape(`${a.metricsUrl}/metrics`), scrape(`${b.metricsUrl}/metrics`)]);
    const ann = await ChatClient.connect(a.wsUrl, { hello: {} });
    const welcome = ann.welcome;
    ann.reset();
    const other = await ChatClient.connect(a.wsUrl);
    other.send('missed while away');
    await other.waitForMessage('message', 'missed while away');
    const back = await ChatClient.connect(b.wsUrl, { hello: { session: welcome.session!, since: welcome.seq!, epoch: welcome.epoch! } });
    assert.equal(back.welcome.resumed, true);
    const stranger = await ChatClient.connect(b.wsUrl, {
      hello: { session: 'no-such-session-token-at-all-000', since: 0, epoch: welcome.epoch! },
    });
    assert.equal(stranger.welcome.resumed, false);

    const [afterA, afterB] = await Promise.all([scrape(`${a.metricsUrl}/metrics`), scrape(`${b.metricsUrl}/metrics`)]);
    assert.equal(resumes(afterB, 'resumed') - resumes(beforeB, 'resumed'), 1);
    assert.equal(resumes(afterB, 'expired') - resumes(beforeB, 'expired'), 1);
    assert.equal(resumes(afterA, 'resumed') - resumes(beforeA, 'resumed'), 0, 'counted where the resume happened');
    const replayed = afterB.value('switchboard_replayed_events_total') - beforeB.value('switchboard_replayed_events_total');
    assert.ok(replayed >= 2, `the missed events were replayed (${replayed}: the other's connect notice and line)`);
    await Promise.all([back.close(), stranger.close(), other.close()]);
  });

  it('shows every node in /cluster.json on either node, with a history of the plotted fields', async () => {
    const report = await clusterReport(b.metricsUrl, (r) => r.nodes.length === 2, 'both nodes', '?history');
    assert.equal(report.servedBy, 'metrics-b');
    assert.deepEqual(
      report.nodes.map((n) => n.node),
      ['metrics-a', 'metrics-b'],
    );
    for (const node of report.nodes) {
      assert.equal(node.bus, 'redis');
      assert.equal(node.ready, true);
    }
    const history = report.history!;
    assert.ok(history.times.length >= 1);
    assert.equal(history.nodes['metrics-b']!.connections.length, history.times.length);
  });

  it('streams a snapshot every second as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${a.metricsUrl}/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while ((text.match(/^data: /gm) ?? []).length < 2) text += (await reader.read()).value ?? '';
    controller.abort();
    const first = JSON.parse(/^data: (.*)$/m.exec(text)![1]!) as ClusterReport;
    assert.equal(first.servedBy, 'metrics-a');
  });

  it('passes promtool check metrics', async (t) => {
    if (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status !== 0) {
      t.skip('promtool is not installed (apt-get install prometheus)');
      return;
    }
    const text = await (await fetch(`${a.metricsUrl}/metrics`)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check metrics:\n${result.stdout}${result.stderr}`);
  });

  it('exports every metric the Grafana dashboard queries', async () => {
    const exported = seriesNames(await scrape(`${a.metricsUrl}/metrics`));
    const dashboard = JSON.parse(readFileSync(GRAFANA_DASHBOARD, 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    let queried = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const names = queriedMetrics(target.expr);
        assert.ok(names.length > 0, `panel "${panel.title}" queries a metric: ${target.expr}`);
        for (const name of names)
          assert.ok(exported.has(name), `panel "${panel.title}" queries ${name}, which the gateway does not export`);
        queried += names.length;
      }
    }
    assert.ok(queried >= 10, `the dashboard queries ${queried} metrics`);
  });

  it("lists in the README's Operations section exactly the switchboard_ metrics a node exports", async () => {
    const s = await scrape(`${a.metricsUrl}/metrics`);
    const exported = [...s.types.keys()].filter((name) => name.startsWith('switchboard_')).sort();
    const readme = readFileSync(README, 'utf8');
    const section = /<!-- metrics list -->([\s\S]*?)<!-- end of metrics list -->/.exec(readme)?.[1] ?? '';
    const listed = [...section.matchAll(/^\| `(switchboard_[a-z0-9_]+)`/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(listed, exported);
  });
});

describe('where the metrics port listens (METRICS_HOST)', () => {
  /** Another address of this machine's loopback: a server bound to 127.0.0.1 does not answer on it, one bound to 0.0.0.0 does. */
  const OTHER = '127.0.0.2';
  const nodes: GatewayProcess[] = [];

  /** A one-node gateway whose public port listens on every address, with a metrics server; `env` adds METRICS_HOST. */
  async function start(nodeId: string, env: Record<string, string> = {}): Promise<{ node: GatewayProcess; host: string; port: number }> {
    const node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: nodeId, HOST: '0.0.0.0', METRICS_PORT: '0', ...env } });
    nodes.push(node);
    const line = node.logs.items.find((l) => typeof l.metricsPort === 'number');
    assert.ok(line, 'the metrics server logs where it listens');
    return { node, host: line.host as string, port: line.metricsPort as number };
  }

  /** Whether a TCP connection to host:port is accepted (true) or refused (false). */
  function accepts(host: string, port: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve(false) : reject(err)));
    });
  }

  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
  });

  it('listens on 127.0.0.1 by default, even when HOST is 0.0.0.0', async (t) => {
    const { node, host, port } = await start('metrics-loopback');
    assert.equal(host, '127.0.0.1');
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    assert.equal(await accepts(OTHER, port), false, `the metrics port refuses ${OTHER}`);
    assert.equal(await accepts(OTHER, node.port), true, `while the public port (HOST 0.0.0.0) answers on ${OTHER}`);
    t.diagnostic(`metrics port bound to ${host}:${port}; ${OTHER} refused; the public port answers on ${OTHER}`);
  });

  it('listens on the address METRICS_HOST names', async () => {
    const [only, every] = await Promise.all([
      start('metrics-other', { METRICS_HOST: OTHER }),
      start('metrics-every', { METRICS_HOST: '0.0.0.0' }),
    ]);
    assert.equal(only.host, OTHER);
    assert.equal((await fetch(`http://${OTHER}:${only.port}/metrics`)).status, 200);
    assert.equal(await accepts('127.0.0.1', only.port), false, 'not on 127.0.0.1 then');
    assert.equal(every.host, '0.0.0.0');
    assert.equal((await fetch(`http://${OTHER}:${every.port}/metrics`)).status, 200, 'docker-compose.yml sets 0.0.0.0 for Prometheus');
  });
});

/**
 * The metric names a PromQL expression reads: identifiers that are not
 * functions, keywords, label names or label values.
 */
function queriedMetrics(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutLabels = withoutStrings
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const withoutRanges = withoutLabels.replace(/\[[^\]]*\]/g, '');
  const names = [...withoutRanges.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0]);
  return [...new Set(names.filter((name) => !/^(and|or|unless|bool|offset|le|inf|nan)$/i.test(name)))];
}

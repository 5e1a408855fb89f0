import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatClient, LocalCluster, httpGet, makeTestCertificates, type TestCertificates } from '@switchboard/testkit';
import { readCa, wsUrlOf } from './target.js';

/**
 * The load balancer's TLS listener: HTTPS and WSS end at HAProxy, the gateways
 * behind stay plain, and the plain listener redirects everything but the probes.
 *
 * With no E2E_URL it starts a local cluster of its own with a throwaway
 * certificate (LocalCluster's tlsCert, as `LB_TLS_CERT=… npm run cluster`).
 * Against an https:// E2E_URL (E2E_CA trusted) it checks that listener, and with
 * E2E_PLAIN_URL (the plain listener, e.g. http://localhost:8080) the redirects.
 * Against a plain http:// E2E_URL it is skipped.
 */
interface TlsTarget {
  readonly httpsUrl: string;
  readonly wssUrl: string;
  readonly plainUrl: string | undefined;
  readonly ca: Buffer | undefined;
  readonly gateways: number;
  close(): Promise<void>;
}

const TEST_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 15_000;
/** How many clients, at most, to spread over every gateway (least-connections does it in N when nothing else connects). */
const SPREAD_MAX_CONNECTIONS = 60;
const YEAR_SECONDS = 31_536_000;

let target: TlsTarget | { skip: string };
const opened: ChatClient[] = [];

async function openTlsTarget(env: NodeJS.ProcessEnv): Promise<TlsTarget | { skip: string }> {
  const gateways = Number(env.E2E_GATEWAYS ?? 3);
  if (env.E2E_URL) {
    const url = new URL(env.E2E_URL);
    if (url.protocol !== 'https:') return { skip: `E2E_URL ${url.origin} is plain http: no TLS listener to test` };
    return {
      httpsUrl: url.origin,
      wssUrl: wsUrlOf(url),
      plainUrl: env.E2E_PLAIN_URL ? new URL(env.E2E_PLAIN_URL).origin : undefined,
      ca: readCa(env),
      gateways,
      close: async () => undefined,
    };
  }
  const certs: TestCertificates = await makeTestCertificates();
  try {
    const cluster = await LocalCluster.start({ gateways, tlsCert: certs.pemFile });
    await cluster.waitForBackends();
    return {
      httpsUrl: cluster.httpUrl,
      wssUrl: cluster.wsUrl,
      plainUrl: cluster.plainUrl,
      ca: certs.ca,
      gateways,
      close: async () => {
        await cluster.stop();
        certs.dispose();
      },
    };
  } catch (err) {
    certs.dispose();
    throw err;
  }
}

function tls(): TlsTarget {
  assert.ok(!('skip' in target));
  return target;
}

async function connect(): Promise<ChatClient> {
  const client = await ChatClient.connect(tls().wssUrl, { ca: tls().ca, timeoutMs: CONNECT_TIMEOUT_MS });
  opened.push(client);
  return client;
}

before(async () => {
  target = await openTlsTarget(process.env);
  if (!('skip' in target)) console.error(`e2e tls: ${target.httpsUrl}, plain listener ${target.plainUrl ?? 'not given (E2E_PLAIN_URL)'}`);
});

after(async () => {
  await Promise.allSettled(opened.map((c) => c.close()));
  if (target && !('skip' in target)) await target.close();
});

describe('the load balancer over TLS', { timeout: TEST_TIMEOUT_MS * 3 }, () => {
  test('carries the chat over wss:// to clients on every gateway', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if ('skip' in target) {
      t.skip(target.skip);
      return;
    }
    const clients: ChatClient[] = [];
    const nodes = () => new Set(clients.map((c) => c.node));
    while (nodes().size < tls().gateways && clients.length < SPREAD_MAX_CONNECTIONS) clients.push(await connect());
    assert.equal(nodes().size, tls().gateways, `${clients.length} clients landed on ${[...nodes()].join(', ')} only`);
    const line = `over TLS ${process.pid} ${Date.now()}`;
    clients.at(-1)!.send(line);
    await Promise.all(clients.map((c) => c.waitForMessage('message', line)));
    await Promise.allSettled(clients.map((c) => c.close()));
  });

  test('answers over https:// with Strict-Transport-Security', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if ('skip' in target) {
      t.skip(target.skip);
      return;
    }
    for (const path of ['/', '/healthz']) {
      const answer = await httpGet(`${tls().httpsUrl}${path}`, { ca: tls().ca });
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers['strict-transport-security'], `max-age=${YEAR_SECONDS}`, path);
    }
  });

  test(
    'the plain listener redirects to https:// (path and query kept), but for /healthz and /readyz',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if ('skip' in target) {
        t.skip(target.skip);
        return;
      }
      const { plainUrl, httpsUrl } = tls();
      if (!plainUrl) {
        t.skip('E2E_PLAIN_URL is not set: the plain listener is unknown');
        return;
      }
      for (const path of ['/', '/ws', '/app.js?v=1']) {
        const answer = await httpGet(`${plainUrl}${path}`);
        assert.equal(answer.status, 301, path);
        assert.equal(answer.headers.location, `${httpsUrl}${path}`, path);
        assert.equal(answer.headers['strict-transport-security'], undefined, 'never over plain HTTP');
      }
      for (const path of ['/healthz', '/readyz']) {
        const answer = await httpGet(`${plainUrl}${path}`);
        assert.equal(answer.status, 200, `${path} is answered in plain HTTP, for probes`);
      }
      // A plain WebSocket is sent to wss:// as well: this client does not follow, so it is refused.
      const ws = new URL('/ws', plainUrl);
      ws.protocol = 'ws:';
      await assert.rejects(ChatClient.connect(ws.href, { timeoutMs: CONNECT_TIMEOUT_MS }), /301/);
    },
  );

  test('plain HTTP on the TLS port fails the handshake', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if ('skip' in target) {
      t.skip(target.skip);
      return;
    }
    const plainOnTls = new URL(tls().httpsUrl);
    const port = plainOnTls.port || '443';
    plainOnTls.protocol = 'http:';
    plainOnTls.port = port;
    await assert.rejects(httpGet(`${plainOnTls.origin}/healthz`, { timeoutMs: 5_000 }));
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ChatClient, GATEWAY_ENTRY, GatewayProcess, httpGet, makeTestCertificates, type TestCertificates } from '@switchboard/testkit';
import { ConfigError, loadConfig } from '../../src/config/gateway-config.js';

const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));
const YEAR_SECONDS = 31_536_000;

/** Run the gateway with `env` until it exits by itself (a bad setting): its status and stderr. */
function runGateway(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [GATEWAY_ENTRY],
      { env: { ...process.env, PORT: '0', REDIS_URL: '', ...env }, timeout: 30_000 },
      (err, _out, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

describe('a lone gateway with TLS_CERT and TLS_KEY', () => {
  let certs: TestCertificates;
  let node: GatewayProcess;
  let plain: GatewayProcess;

  before(async () => {
    certs = await makeTestCertificates();
    [node, plain] = await Promise.all([
      GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'tls', TLS_CERT: certs.certFile, TLS_KEY: certs.keyFile } }),
      GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'plain' } }),
    ]);
  });

  after(async () => {
    await Promise.all([node?.kill(), plain?.kill()]);
    certs?.dispose();
  });

  it('says it listens on https://', () => {
    assert.equal(node.tls, true);
    assert.match(node.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    assert.ok(node.logs.items.some((l) => l.msg === `listening on https://127.0.0.1:${node.port}`));
  });

  it('carries the seed protocol over wss:// for a client that trusts its authority', async () => {
    const ada = await ChatClient.connect(node.wsUrl, { ca: certs.ca });
    const bea = await ChatClient.connect(node.wsUrl, { ca: certs.ca });
    assert.equal(ada.node, 'tls');
    ada.send('over TLS');
    await bea.waitForMessage('message', 'over TLS');
    await Promise.all([ada.close(), bea.close()]);
  });

  it('carries protocol v2 over wss://: hello, welcome with a session, a ref acknowledged by its echo', async () => {
    const client = await ChatClient.connect(node.wsUrl, { ca: certs.ca, hello: {} });
    assert.equal(client.socket.protocol, 'switchboard.v2');
    assert.ok(client.welcome.session, 'a v2 welcome carries a session');
    client.sendJson({ type: 'message', message: 'v2 over TLS', ref: 'r1' });
    const echo = await client.waitFor((f) => f.type === 'message' && f.ref === 'r1', 'the echo of ref r1');
    assert.equal(echo.type === 'message' && echo.message, 'v2 over TLS');
    await client.close();
  });

  it('serves the page and the probes over https://, each answer with Strict-Transport-Security', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/app.js']) {
      const answer = await httpGet(`${node.httpUrl}${path}`, { ca: certs.ca });
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers['strict-transport-security'], `max-age=${YEAR_SECONDS}`, path);
    }
  });

  it('never sends Strict-Transport-Security over plain HTTP', async () => {
    const answer = await httpGet(`${plain.httpUrl}/`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['strict-transport-security'], undefined);
  });

  it('refuses plain ws:// and http:// on its port: the TLS handshake fails', async () => {
    await assert.rejects(ChatClient.connect(`ws://127.0.0.1:${node.port}/ws`, { timeoutMs: 5_000 }));
    await assert.rejects(httpGet(`http://127.0.0.1:${node.port}/healthz`, { timeoutMs: 5_000 }));
    // Still serving the clients that do speak TLS.
    assert.equal((await httpGet(`${node.httpUrl}/healthz`, { ca: certs.ca })).status, 200);
  });

  it('is refused by a client that does not trust its authority', async () => {
    await assert.rejects(ChatClient.connect(node.wsUrl), /self[- ]signed|unable to (get|verify)/i);
  });
});

describe('TLS settings', () => {
  let certs: TestCertificates;

  before(async () => {
    certs = await makeTestCertificates();
  });

  after(() => certs?.dispose());

  it('are read from the environment and from flags', () => {
    const fromEnv = loadConfig([], { TLS_CERT: certs.certFile, TLS_KEY: certs.keyFile });
    assert.ok(fromEnv !== 'help' && fromEnv.tlsCert === certs.certFile && fromEnv.tlsKey === certs.keyFile);
    const fromFlags = loadConfig(['--tls-cert', certs.pemFile, '--tls-key', certs.pemFile, '--hsts-max-age-seconds', '0'], {});
    assert.ok(
      fromFlags !== 'help' && fromFlags.tlsCert === certs.pemFile && fromFlags.hstsMaxAgeSeconds === 0,
      'HAProxy’s combined PEM serves as both',
    );
  });

  it('refuse, naming the setting, a file that is missing, not PEM, or not the certificate’s key, and one without the other', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ TLS_CERT: certs.certFile }, /^TLS_KEY must be set when TLS_CERT is \(both or neither\)$/],
      [{ TLS_KEY: certs.keyFile }, /^TLS_CERT must be set when TLS_KEY is/],
      [
        { TLS_CERT: '/no/such/cert.pem', TLS_KEY: certs.keyFile },
        /^TLS_CERT must be the path of a readable file, got "\/no\/such\/cert.pem"$/,
      ],
      [{ TLS_CERT: certs.certFile, TLS_KEY: certs.dir }, /^TLS_KEY must be the path of a readable file/],
      [{ TLS_CERT: README, TLS_KEY: certs.keyFile }, /^TLS_CERT must be a file holding a PEM certificate, got ".*README.md"$/],
      [{ TLS_CERT: certs.keyFile, TLS_KEY: certs.keyFile }, /^TLS_CERT must be a file holding a PEM certificate/],
      [{ TLS_CERT: certs.certFile, TLS_KEY: certs.certFile }, /^TLS_KEY must be a file holding an unencrypted PEM private key/],
      [
        { TLS_CERT: certs.certFile, TLS_KEY: certs.caKeyFile },
        /^TLS_KEY \(.*ca\.key\) is not the private key of the certificate in TLS_CERT \(.*switchboard\.crt\)$/,
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig([], env),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(env),
      );
    }
    assert.throws(
      () => loadConfig(['--tls-cert', '/nowhere'], {}),
      new ConfigError('--tls-cert must be the path of a readable file, got "/nowhere"'),
    );
  });

  it('make the gateway exit 2 with that message', async () => {
    const runs = await Promise.all([
      runGateway({ TLS_CERT: certs.certFile }),
      runGateway({ TLS_CERT: '/no/such/cert.pem', TLS_KEY: certs.keyFile }),
      runGateway({ TLS_CERT: certs.certFile, TLS_KEY: certs.caKeyFile }),
    ]);
    assert.deepEqual(
      runs.map((r) => r.status),
      [2, 2, 2],
      runs.map((r) => r.stderr).join(''),
    );
    assert.match(runs[0].stderr, /^switchboard-gateway: TLS_KEY must be set when TLS_CERT is/);
    assert.match(runs[1].stderr, /^switchboard-gateway: TLS_CERT must be the path of a readable file/);
    assert.match(runs[2].stderr, /^switchboard-gateway: TLS_KEY \(.*\) is not the private key of the certificate in TLS_CERT/);
  });
});

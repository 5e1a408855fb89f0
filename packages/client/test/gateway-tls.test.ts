import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { GatewayProcess, makeTestCertificates, type TestCertificates } from '@switchboard/testkit';
import { SwitchboardClient } from '../src/index.js';

/**
 * The SDK in Node over wss://, to a gateway whose certificate a private
 * authority signed: the recipe of the README (a `ws` subclass that passes `ca`).
 */
describe('SwitchboardClient over wss:// in Node', () => {
  let certs: TestCertificates;
  let node: GatewayProcess;
  const clients: SwitchboardClient[] = [];

  before(async () => {
    certs = await makeTestCertificates();
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'sdk-tls', TLS_CERT: certs.certFile, TLS_KEY: certs.keyFile } });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node?.kill();
    certs?.dispose();
  });

  it('connects, sends and is acknowledged through a ws subclass that passes the authority as `ca`', async () => {
    const ca = certs.ca;
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    }
    const client = new SwitchboardClient({ url: node.wsUrl, WebSocket: TrustingWebSocket, nickname: 'tls-ada' });
    clients.push(client);
    const welcome = await client.connect();
    assert.equal(welcome.node, 'sdk-tls');
    assert.equal(client.protocol, 'v2');
    const ack = await client.send('hello over wss');
    assert.equal(typeof ack?.seq, 'number');
  });

  it('does not connect when the authority is not trusted', async () => {
    const client = new SwitchboardClient({ url: node.wsUrl, WebSocket, reconnect: false });
    clients.push(client);
    await assert.rejects(client.connect(), /closed before it connected/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { GatewayProcess, freePort, watch } from '@switchboard/testkit';
import { SwitchboardClient, type ClientEvents, type ClientOptions } from '../src/index.js';

/** The SDK in Node, with `ws`, against real gateway processes. */
describe('SwitchboardClient against a real gateway', () => {
  let port: number;
  let node: GatewayProcess;
  const clients: SwitchboardClient[] = [];

  const start = () => GatewayProcess.start({ env: { REDIS_URL: '', PORT: String(port), NODE_ID: 'sdk-node' } });
  const client = (options: Partial<ClientOptions> = {}) => {
    const c = new SwitchboardClient({ url: node.wsUrl, WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, ...options });
    clients.push(c);
    const events = watch<ClientEvents>(c);
    const frames = events.record('frame');
    const renamedTo = (name: string) =>
      frames.waitFor((f) => f.type === 'nick_update' && f.id === c.id && f.nickname === name, 10_000, `${name}'s rename`, 0);
    return Object.assign(c, { next: events.next.bind(events), frames, renamedTo });
  };

  before(async () => {
    port = await freePort();
    node = await start();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node?.kill();
  });

  it('chats and renames with typed events', async () => {
    const ada = client({ nickname: 'ada' });
    const bob = client();
    await ada.connect();
    await bob.connect();
    await ada.renamedTo('ada');

    const heard = bob.next('message', (f) => f.message === 'hello from ada');
    void ada.send('hello from ada');
    const message = await heard;
    assert.equal(message.nickname, 'ada');
    assert.equal(message.id, ada.id);
    assert.equal(typeof message.time, 'number');

    const renamed = bob.next('nick_update', (f) => f.id === ada.id);
    void ada.setNick('countess');
    assert.equal((await renamed).previous, 'ada');
    await ada.renamedTo('countess');
    assert.equal(ada.nickname, 'countess');
  });

  it('reconnects when its node dies and comes back, and takes its nickname back', async () => {
    const ada = client({ nickname: 'lovelace' });
    await ada.connect();
    await ada.renamedTo('lovelace');
    const firstId = ada.id;

    const lost = ada.next('state', (s) => s.state === 'reconnecting');
    await node.kill();
    const change = await lost;
    assert.equal(change.attempt, 1);

    const reopened = ada.next('state', (s) => s.state === 'open', 10_000);
    node = await start();
    await reopened;
    assert.notEqual(ada.id, firstId, 'a new connection, a new id');
    await ada.renamedTo('lovelace');
    assert.equal(ada.nickname, 'lovelace');
  });

  it('stays closed after the gateway closes it for a frame over the limit (1009)', async () => {
    // maxMessageBytes raised past the gateway's so the frame reaches the wire.
    const rude = client({ maxMessageBytes: 4096 });
    await rude.connect();
    const closed = rude.next('close');
    void rude.send('x'.repeat(600));
    const info = await closed;
    assert.equal(info.code, 1009);
    assert.equal(info.willReconnect, false);
    assert.equal(rude.state, 'closed');
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { EPOCH, after, message, openV2, setup, welcome, welcomeFrame } from './v2-harness.js';

describe('SwitchboardClient reading protocol v2 batches', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('delivers every frame of a batch in order, each through the ordering rule', async () => {
    const { client, socket, delivered, gaps } = setup();
    const seen: string[] = [];
    client.on('frame', (f) => seen.push(f.type));
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    socket(0).batch([message(11, 'a'), message(12, 'b'), message(11, 'a again'), message(12, 'b again'), message(14, 'd')]);
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['a', 'b', 'd'],
      'duplicates inside a batch are dropped',
    );
    assert.deepEqual(gaps, [{ reason: 'seq', epoch: EPOCH, from: 13, to: 13 }]);
    assert.deepEqual(seen, ['welcome', 'message', 'message', 'message']);
    assert.deepEqual(client.resumePoint?.since, 14);
  });

  it('reads a welcome and the replay after it from one batch, and settles its own echoes there', async () => {
    const { client, socket, delivered, failures } = setup();
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    const waiting = client.send('in flight');
    const ref = after(socket(0))[0]?.ref;
    socket(0).drop(1006);
    mock.timers.tick(100);
    openV2(socket(1));
    socket(1).batch([
      welcomeFrame({ seq: 10, resumed: true }),
      message(11, 'missed'),
      { ...message(12, 'in flight', { ref }), id: 'id-1' },
    ]);
    assert.equal(client.state, 'open');
    assert.deepEqual(
      delivered.map((d) => d.seq),
      [11, 12],
    );
    assert.equal((await waiting)?.seq, 12);
    assert.deepEqual(failures, []);
  });

  it('refuses a batch with any bad line as a whole: "unknown", and none of its frames delivered', async () => {
    const { client, socket, delivered } = setup();
    const unknown: string[] = [];
    client.on('unknown', (text) => unknown.push(text));
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    const text = `${JSON.stringify(message(11, 'good'))}\nnot json`;
    socket(0).raw(text);
    socket(0).raw(`${JSON.stringify(message(11, 'good'))}\n`);
    assert.deepEqual(unknown, [text, `${JSON.stringify(message(11, 'good'))}\n`]);
    assert.equal(delivered.length, 0);
    socket(0).frame(message(11, 'next'));
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['next'],
      'the connection goes on',
    );
  });

  it('stops reading a batch once a listener closes the client', async () => {
    const { client, socket, delivered } = setup();
    const connected = client.connect();
    welcome(socket(0), { seq: 10 });
    await connected;
    client.on('message', (m) => m.message === 'stop' && void client.close());
    socket(0).batch([message(11, 'stop'), message(12, 'after the close')]);
    assert.deepEqual(
      delivered.map((d) => d.message),
      ['stop'],
    );
    assert.equal(client.state, 'closed');
  });

  it('does not read batches on a seed-protocol (v1) connection', async () => {
    const { client, socket, delivered } = setup({ protocol: 'v1' });
    const unknown: string[] = [];
    client.on('unknown', (text) => unknown.push(text));
    const connected = client.connect();
    socket(0).accept();
    await connected;
    socket(0).batch([message(1, 'a'), message(2, 'b')]);
    assert.equal(unknown.length, 1);
    assert.equal(delivered.length, 0);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LIBUV_READ_STOP, MAX_PAUSED_BYTES, SocketReadPause } from '../../src/platform/socket-read-pause.js';

/** Every socket the tests opened, destroyed at the end whatever happened. */
const opened: Socket[] = [];

/** A TCP client and the server's end of it, on loopback. */
async function pair(server: Server): Promise<{ client: Socket; peer: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  opened.push(client);
  await once(client, 'connect');
  const [peer] = await accepted;
  opened.push(peer);
  return { client, peer };
}

/** Everything `socket` has emitted as 'data', as text. */
function collect(socket: Socket): { text: () => string; next: () => Promise<void> } {
  let text = '';
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    waiting?.();
  });
  return { text: () => text, next: () => new Promise<void>((resolve) => (waiting = resolve)) };
}

/**
 * Resolves once bytes `paused` was sent before now have reached this process, read or not:
 * another connection's bytes, written after them, have been read, and so has the rest
 * of that I/O phase (where the paused socket's would be, were it reading).
 */
async function afterArrival(server: Server): Promise<void> {
  const witness = await pair(server);
  const witnessed = collect(witness.client).next();
  witness.peer.write('later');
  await witnessed;
  await new Promise((resolve) => setImmediate(resolve));
}

describe('SocketReadPause (real TCP sockets)', { timeout: 10_000 }, () => {
  let server: Server;
  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const socket of opened) socket.destroy();
    server.close();
  });

  it('leaves what arrives while paused in the kernel, then reads all of it, in order, once resumed', async () => {
    const paused = await pair(server);
    const pausedData = collect(paused.client);
    const pause = new SocketReadPause(() => [paused.client, undefined]);

    pause.pause();
    paused.peer.write('one ');
    paused.peer.write('two');
    await afterArrival(server);
    assert.equal(pausedData.text(), '', 'nothing read while paused');

    pause.resume();
    while (pausedData.text().length < 'one two'.length) await pausedData.next();
    assert.equal(pausedData.text(), 'one two');
  });

  it('does not pause a socket that brought more than MAX_PAUSED_BYTES since the last pause: it would fall behind a window per rest', async () => {
    const { client, peer } = await pair(server);
    const data = collect(client);
    const pause = new SocketReadPause(() => [client]);
    pause.pause();
    pause.resume();
    const bulk = 'x'.repeat(MAX_PAUSED_BYTES + 1);
    peer.write(bulk);
    while (data.text().length < bulk.length) await data.next();
    pause.pause();
    const read = data.next();
    peer.write('y');
    await read; // read at once: not paused
    assert.equal(data.text().length, bulk.length + 1);
    pause.resume();

    pause.pause(); // quiet since the last pause: paused again
    peer.write('z');
    await afterArrival(server);
    assert.equal(data.text().length, bulk.length + 1, 'a quiet socket is paused again');
    pause.resume();
    await data.next();
    assert.ok(data.text().endsWith('yz'));
  });

  it('does not touch a socket closed while paused, and pauses a socket opened meanwhile only from the next pause', async () => {
    const first = await pair(server);
    const sockets = [first.client];
    const pause = new SocketReadPause(() => sockets);
    pause.pause();
    first.client.destroy();
    const second = await pair(server);
    sockets.push(second.client);
    const secondData = collect(second.client);
    pause.resume();
    const read = secondData.next();
    second.peer.write('fresh');
    await read;
    assert.equal(secondData.text(), 'fresh');
  });

  it("finds libuv's readStop/readStart on this Node.js's TCP sockets, and uses them", async () => {
    assert.equal(await LIBUV_READ_STOP.inUse(), true);
  });

  it('pauses nothing when told not to use them (the fallback): what arrives is read at once', async () => {
    const { client, peer } = await pair(server);
    const data = collect(client);
    const pause = new SocketReadPause(() => [client], false);
    pause.pause();
    const read = data.next();
    peer.write('read while resting');
    await read;
    assert.equal(data.text(), 'read while resting');
    pause.resume();
    const more = data.next();
    peer.write(', and after');
    await more;
    assert.equal(data.text(), 'read while resting, and after');
  });
});

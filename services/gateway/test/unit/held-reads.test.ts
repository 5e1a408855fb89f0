import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_HELD_BYTES, SocketReadHold } from '../../src/redis/held-reads.js';

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
 * Resolves once bytes `held` was sent before now have reached this process, read or not:
 * another connection's bytes, written after them, have been read, and so has the rest
 * of that I/O phase (where the held socket's would be, were it reading).
 */
async function afterArrival(server: Server): Promise<void> {
  const witness = await pair(server);
  const witnessed = collect(witness.client).next();
  witness.peer.write('later');
  await witnessed;
  await new Promise((resolve) => setImmediate(resolve));
}

describe('SocketReadHold (real TCP sockets)', { timeout: 10_000 }, () => {
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

  it('leaves what arrives while held in the kernel, then reads all of it, in order, once released', async () => {
    const held = await pair(server);
    const heldData = collect(held.client);
    const hold = new SocketReadHold(() => [held.client, undefined]);

    hold.hold();
    held.peer.write('one ');
    held.peer.write('two');
    await afterArrival(server);
    assert.equal(heldData.text(), '', 'nothing read while held');

    hold.release();
    while (heldData.text().length < 'one two'.length) await heldData.next();
    assert.equal(heldData.text(), 'one two');
  });

  it('does not hold a socket that brought more than MAX_HELD_BYTES since the last hold: it would fall behind a window per rest', async () => {
    const { client, peer } = await pair(server);
    const data = collect(client);
    const hold = new SocketReadHold(() => [client]);
    hold.hold();
    hold.release();
    const bulk = 'x'.repeat(MAX_HELD_BYTES + 1);
    peer.write(bulk);
    while (data.text().length < bulk.length) await data.next();
    hold.hold();
    const read = data.next();
    peer.write('y');
    await read; // read at once: not held
    assert.equal(data.text().length, bulk.length + 1);
    hold.release();

    hold.hold(); // quiet since the last hold: held again
    peer.write('z');
    await afterArrival(server);
    assert.equal(data.text().length, bulk.length + 1, 'a quiet socket is held again');
    hold.release();
    await data.next();
    assert.ok(data.text().endsWith('yz'));
  });

  it('does not touch a socket closed while held, and holds a socket opened meanwhile only from the next hold', async () => {
    const first = await pair(server);
    const sockets = [first.client];
    const hold = new SocketReadHold(() => sockets);
    hold.hold();
    first.client.destroy();
    const second = await pair(server);
    sockets.push(second.client);
    const secondData = collect(second.client);
    hold.release();
    const read = secondData.next();
    second.peer.write('fresh');
    await read;
    assert.equal(secondData.text(), 'fresh');
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventLog } from '../src/event-log.js';
import { TcpProxy, redisConnectionNamed } from '../src/tcp-proxy.js';

/** A server that echoes every chunk back. */
let echo: Server;
let echoPort: number;

before(async () => {
  echo = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => echo.close(() => resolve())));

/** A connection through `proxy`, with what it received. */
async function connect(proxy: TcpProxy): Promise<{ socket: Socket; received: EventLog<string>; text: () => string }> {
  const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
  await once(socket, 'connect');
  const received = new EventLog<string>();
  socket.on('data', (data: Buffer) => received.push(data.toString()));
  socket.on('error', () => undefined);
  socket.on('close', () => received.end());
  return { socket, received, text: () => received.items.join('') };
}

describe('TcpProxy', () => {
  it('forwards both ways', async () => {
    const proxy = await TcpProxy.start(echoPort);
    const c = await connect(proxy);
    c.socket.write('hello');
    await c.received.waitFor(() => c.text() === 'hello', 5_000, 'the echo');
    c.socket.destroy();
    await proxy.close();
  });

  it('holds everything while frozen and lets it go in order when thawed', async () => {
    const proxy = await TcpProxy.start(echoPort);
    const c = await connect(proxy);
    proxy.freeze();
    c.socket.write('one ');
    c.socket.write('two');
    // The proxy has read both chunks (held), and nothing came back.
    await waitUntil(() => proxy.heldBytes === 7);
    assert.equal(c.text(), '');
    proxy.thaw();
    await c.received.waitFor(() => c.text() === 'one two', 5_000, 'the held echo');
    c.socket.destroy();
    await proxy.close();
  });

  it('freezes only the connections a filter picks by their first bytes (a Redis connection by its name)', async () => {
    const proxy = await TcpProxy.start(echoPort);
    const [named, other] = [await connect(proxy), await connect(proxy)];
    const setName = (name: string) => `*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$${name.length}\r\n${name}\r\n`;
    named.socket.write(setName('node-b:pub'));
    other.socket.write(setName('node-b:pub-not'));
    await named.received.waitFor(() => named.text() === setName('node-b:pub'), 5_000, 'the first echo');
    await other.received.waitFor(() => other.text() === setName('node-b:pub-not'), 5_000, 'the other first echo');
    proxy.freeze(redisConnectionNamed('node-b:pub'));
    named.socket.write('held');
    other.socket.write('goes');
    await other.received.waitFor(() => other.text().endsWith('goes'), 5_000, 'the other connection goes on');
    await waitUntil(() => proxy.heldBytes === 4);
    assert.ok(!named.text().endsWith('held'));
    proxy.thaw();
    await named.received.waitFor(() => named.text().endsWith('held'), 5_000, 'the held echo');
    named.socket.destroy();
    other.socket.destroy();
    await proxy.close();
  });

  it('delays every chunk by the latency asked for', async () => {
    const proxy = await TcpProxy.start(echoPort, { delayMs: 300 });
    const c = await connect(proxy);
    const sent = performance.now();
    c.socket.write('late');
    await c.received.waitFor(() => c.text() === 'late', 5_000, 'the delayed echo');
    // Both ways delayed: at least 2 x 300 ms (a generous behavioural bound, no upper one).
    assert.ok(performance.now() - sent >= 590, `came back after ${performance.now() - sent} ms`);
    c.socket.destroy();
    await proxy.close();
  });

  it('cut() closes every connection and drops what it held; new connections still work', async () => {
    const proxy = await TcpProxy.start(echoPort);
    const c = await connect(proxy);
    proxy.freeze();
    c.socket.write('lost');
    await waitUntil(() => proxy.heldBytes === 4);
    const closed = new Promise((resolve) => c.socket.once('close', resolve));
    proxy.cut();
    await closed;
    assert.equal(c.text(), '');
    assert.equal(proxy.open, 0);
    proxy.thaw();
    const d = await connect(proxy);
    d.socket.write('again');
    await d.received.waitFor(() => d.text() === 'again', 5_000, 'the echo on a new connection');
    d.socket.destroy();
    await proxy.close();
  });
});

/** Bounded wait on the proxy's own state (no event announces it). */
async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), 'the proxy reached the state in time');
}

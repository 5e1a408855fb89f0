import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  WS_RAW_SOCKET,
  WS_SENDER_FRAME,
  framePayloads,
  rfc6455TextFrame,
  sendEach,
  textFrame,
  writeFrames,
} from '../../src/platform/ws-frames.js';

/** Payload sizes at the edges of RFC 6455's three length forms (7 bits, 16 bits, 64 bits). */
const SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];

/** A payload of `size` bytes of text, different at every size. */
const payloadOf = (size: number) => Buffer.from('é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2));

describe('platform/ws-frames against the installed ws', () => {
  it("finds ws's Sender.frame and ws's socket, and uses them", () => {
    assert.equal(WS_SENDER_FRAME.inUse(), true);
    assert.equal(WS_RAW_SOCKET.inUse(), true);
  });

  it("frames by RFC 6455 alone (the fallback) byte for byte as ws's Sender.frame does, at every length form", () => {
    for (const size of SIZES) {
      const payload = payloadOf(size);
      assert.deepEqual(rfc6455TextFrame(payload), textFrame(payload), `${size} bytes`);
    }
  });

  it('reads back the payload of every frame of a run, as slices', () => {
    const payloads = SIZES.map(payloadOf);
    const wire = Buffer.concat(payloads.map(rfc6455TextFrame));
    assert.deepEqual(framePayloads(wire), payloads);
  });
});

describe('writing frames to a real WebSocket client', { timeout: 10_000 }, () => {
  let server: WebSocketServer;
  const clients: WebSocket[] = [];

  before(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(server, 'listening');
  });
  after(async () => {
    for (const client of clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A connected client and the server's WebSocket for it; `texts` lists what the client received, each with whether it was binary. */
  async function connection(): Promise<{ socket: WebSocket; texts: Array<[string, boolean]>; next: () => Promise<void> }> {
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    clients.push(client);
    const texts: Array<[string, boolean]> = [];
    let waiting: (() => void) | undefined;
    client.on('message', (data: Buffer, isBinary: boolean) => {
      texts.push([data.toString(), isBinary]);
      waiting?.();
    });
    await once(client, 'open');
    const [socket] = await accepted;
    return { socket, texts, next: () => new Promise<void>((resolve) => (waiting = resolve)) };
  }

  const sent = ['first', 'é'.repeat(200), 'x'.repeat(70_000), 'last'];
  const wire = Buffer.concat(sent.map((text) => textFrame(Buffer.from(text))));

  for (const [how, write] of [
    ['straight to its socket (the internal in use)', writeFrames],
    ["frame by frame through ws's send() (the fallback)", sendEach],
  ] as const) {
    it(`delivers a run of frames written ${how}: each a text message, in order`, async () => {
      const { socket, texts, next } = await connection();
      write(socket, wire);
      while (texts.length < sent.length) await next();
      assert.deepEqual(
        texts,
        sent.map((text) => [text, false]),
      );
    });
  }
});

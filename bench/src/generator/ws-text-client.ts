/**
 * A client of a raw-text pub/sub over ws (nginx + nchan's `nchan_pubsub
 * websocket`): it is connected once the WebSocket is open (there is no welcome),
 * sends each line as a text frame and takes every text frame it receives as a
 * line, from its first byte (frames are not decoded). It joins no rooms: the
 * server's one channel is its only room.
 */
import { WebSocket } from 'ws';
import type { ClientHandlers, LoadClient } from './client.js';

export function connectWsText(url: string, handlers: ClientHandlers, timeoutMs: number): Promise<LoadClient> {
  const socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: timeoutMs });
  let dropped = false;
  const client: LoadClient = {
    get open() {
      return socket.readyState === WebSocket.OPEN;
    },
    send: (text) => socket.send(text),
    terminate: () => {
      dropped = true;
      socket.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      dropped = true;
      socket.terminate();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('close', (code) => fail(new Error(`closed (${code}) before it opened`)));
    socket.once('open', () => {
      socket.removeAllListeners('error').removeAllListeners('close');
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        if (!dropped) handlers.closed(String(code));
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && data[0] === 126 /* ~ */) handlers.line(data, 0);
        else handlers.other();
      });
      resolve(client);
    });
  });
}

/**
 * A client of the JSON-over-ws systems (Switchboard's seed protocol, the naive
 * relay): it sends plain text frames and reads JSON frames whose first one is
 * the welcome. A frame's bytes are only searched for its "message", never
 * decoded or parsed, so the generator stays cheap.
 */
import { WebSocket } from 'ws';
import type { ClientHandlers, LoadClient } from './client.js';

const MESSAGE_KEY = Buffer.from('"message":"');
const ERROR_START = Buffer.from('{"type":"error"');

export function connectWs(url: string, handlers: ClientHandlers, timeoutMs: number): Promise<LoadClient> {
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
    const timer = setTimeout(() => fail(new Error(`no welcome from ${url} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      dropped = true;
      socket.terminate();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('close', (code) => fail(new Error(`closed (${code}) before the welcome`)));
    socket.once('message', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error').removeAllListeners('close');
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        if (!dropped) handlers.closed(String(code));
      });
      socket.on('message', (data: Buffer) => onFrame(data, handlers));
      resolve(client);
    });
  });
}

function onFrame(data: Buffer, handlers: ClientHandlers): void {
  const at = data.indexOf(MESSAGE_KEY);
  if (at !== -1 && data[at + MESSAGE_KEY.length] === 126 /* ~ */) handlers.line(data, at + MESSAGE_KEY.length);
  else if (data.subarray(0, ERROR_START.length).equals(ERROR_START)) handlers.error();
  else handlers.other();
}

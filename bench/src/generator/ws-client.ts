/**
 * A client of the JSON-over-ws systems (Switchboard's seed protocol, the naive
 * relay): it sends plain text frames and reads JSON frames whose first one is
 * the welcome. Given a room, it then sends the seed command `/join ROOM` and is
 * connected once Switchboard answers `joined` (what arrives before, in the
 * lobby, is not counted). A frame's bytes are only searched for its "message",
 * never decoded or parsed, so the generator stays cheap.
 */
import { WebSocket } from 'ws';
import type { ClientHandlers, LoadClient } from './client.js';

const MESSAGE_KEY = Buffer.from('"message":"');
const ERROR_START = Buffer.from('{"type":"error"');
/** What Switchboard answers a join with, to the joiner alone. */
const JOINED_START = Buffer.from('{"type":"joined"');

export function connectWs(url: string, handlers: ClientHandlers, timeoutMs: number, room?: string): Promise<LoadClient> {
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
    const ready = () => {
      clearTimeout(timer);
      socket.removeAllListeners('error').removeAllListeners('close').removeAllListeners('message');
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        if (!dropped) handlers.closed(String(code));
      });
      socket.on('message', (data: Buffer) => onFrame(data, handlers));
      resolve(client);
    };
    socket.once('message', () => {
      if (room === undefined) {
        ready();
        return;
      }
      socket.on('message', (data: Buffer) => {
        if (startsWith(data, JOINED_START)) ready();
        else if (startsWith(data, ERROR_START)) fail(new Error(`/join ${room} refused: ${data.toString().slice(0, 200)}`));
      });
      socket.send(`/join ${room}`);
    });
  });
}

function startsWith(data: Buffer, start: Buffer): boolean {
  return data.subarray(0, start.length).equals(start);
}

function onFrame(data: Buffer, handlers: ClientHandlers): void {
  const at = data.indexOf(MESSAGE_KEY);
  if (at !== -1 && data[at + MESSAGE_KEY.length] === 126 /* ~ */) handlers.line(data, at + MESSAGE_KEY.length);
  else if (startsWith(data, ERROR_START)) handlers.error();
  else handlers.other();
}

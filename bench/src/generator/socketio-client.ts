/**
 * A socket.io-client 4.8 client (websocket transport, its own connection, no
 * automatic reconnect: the generator decides where to reconnect). It sends
 * "chat" events and receives them as objects. Given a room, it joins it the
 * Socket.IO way, a "join" event the server handles with socket.join, and is
 * connected once the server acknowledges it.
 */
import { io } from 'socket.io-client';
import type { ClientHandlers, LoadClient } from './client.js';

interface ChatEvent {
  readonly type?: string;
  readonly message?: unknown;
}

export function connectSocketIo(url: string, handlers: ClientHandlers, timeoutMs: number, room?: string): Promise<LoadClient> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: timeoutMs });
  let dropped = false;
  const client: LoadClient = {
    get open() {
      return socket.connected;
    },
    send: (text) => void socket.emit('chat', text),
    terminate: () => {
      dropped = true;
      socket.disconnect();
    },
  };
  socket.on('chat', (event: ChatEvent) => {
    if (event.type === 'message' && typeof event.message === 'string' && event.message.charCodeAt(0) === 126)
      handlers.line(event.message, 0);
    else handlers.other();
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      dropped = true;
      socket.disconnect();
      reject(err);
    };
    socket.once('connect', () => {
      socket.off('connect_error');
      socket.on('disconnect', (reason) => {
        if (!dropped) handlers.closed(reason);
      });
      if (room === undefined) {
        resolve(client);
        return;
      }
      socket
        .timeout(timeoutMs)
        .emitWithAck('join', room)
        .then(
          () => resolve(client),
          (err: Error) => fail(new Error(`join ${room}: ${err.message}`)),
        );
    });
    socket.once('connect_error', fail);
  });
}

import type { Socket } from 'node:net';
import type { HeldReads } from '../bus/bus.js';

/**
 * The libuv handle under a net.Socket, as Node's own `Socket.pause()` stops and
 * starts it for sockets that read into a buffer of their own (`onread`). A plain
 * pause() would not do: the stream keeps reading from the kernel (and so keeps
 * waking the process) until its own buffer is full.
 */
interface ReadingHandle {
  reading: boolean;
  readStop(): number;
  readStart(): number;
}

function handleOf(socket: Socket): ReadingHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<ReadingHandle> | null })._handle;
  return handle && typeof handle.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as ReadingHandle) : undefined;
}

/**
 * HeldReads over TCP sockets (the bus's Redis connections): hold() stops reading
 * each socket that is reading now, release() starts exactly those again. A
 * socket closed meanwhile is left alone; one opened meanwhile (a reconnect) was
 * never held. Nothing is lost or reordered: the bytes wait in the kernel.
 */
export class SocketReadHold implements HeldReads {
  private held: Socket[] = [];

  /** `sockets` lists the sockets to hold as of now (they change with reconnects). */
  constructor(private readonly sockets: () => Iterable<Socket | undefined>) {}

  hold(): void {
    if (this.held.length > 0) return;
    for (const socket of this.sockets()) {
      const handle = socket && !socket.destroyed ? handleOf(socket) : undefined;
      if (!handle?.reading) continue;
      handle.reading = false;
      if (handle.readStop() === 0) this.held.push(socket!);
      else handle.reading = true;
    }
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const socket of held) {
      const handle = socket.destroyed ? undefined : handleOf(socket);
      if (!handle || handle.reading) continue;
      handle.reading = true;
      if (handle.readStart() !== 0) socket.destroy(new Error('could not read from the socket again'));
    }
  }
}

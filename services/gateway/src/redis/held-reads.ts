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
 * Bytes a socket may have brought since it was last held and still be held
 * again. A held socket can keep only its kernel receive window waiting (about
 * 90 KiB on loopback), so one that brings more per rest would be capped at a
 * window per rest and fall behind; it is read as it comes instead (a node that
 * busy is awake anyway, and its reads are large).
 */
export const MAX_HELD_BYTES = 32 * 1024;

/**
 * HeldReads over TCP sockets (the bus's Redis connections): hold() stops reading
 * each socket that is reading now, unless it brought more than MAX_HELD_BYTES
 * since the last hold; release() starts exactly those again. A socket closed
 * meanwhile is left alone; one opened meanwhile (a reconnect) was never held.
 * Nothing is lost or reordered: the bytes wait in the kernel.
 */
export class SocketReadHold implements HeldReads {
  private held: Socket[] = [];
  /** Each socket's bytesRead as of the last hold. */
  private readonly readAtHold = new WeakMap<Socket, number>();

  /** `sockets` lists the sockets to hold as of now (they change with reconnects). */
  constructor(private readonly sockets: () => Iterable<Socket | undefined>) {}

  hold(): void {
    if (this.held.length > 0) return;
    for (const socket of this.sockets()) {
      if (!socket || socket.destroyed) continue;
      const handle = handleOf(socket);
      if (!handle?.reading || this.busy(socket)) continue;
      handle.reading = false;
      if (handle.readStop() === 0) this.held.push(socket);
      else handle.reading = true;
    }
  }

  /** Whether the socket brought more than MAX_HELD_BYTES since the last hold (then it is not held this time). */
  private busy(socket: Socket): boolean {
    const read = socket.bytesRead;
    const before = this.readAtHold.get(socket) ?? read;
    this.readAtHold.set(socket, read);
    return read - before > MAX_HELD_BYTES;
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

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { PausableReads } from '../bus/bus.js';
import { ruledOut, type Capability } from './capability.js';

/**
 * The libuv handle under a net.Socket, as Node's own `Socket.pause()` stops and
 * starts it for sockets that read into a buffer of their own (`onread`). A plain
 * `Socket.pause()` would not do: the stream keeps reading from the kernel (and so keeps
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

/** Whether libuv's readStop/readStart are used (FALLBACK_ENV may rule them out); each socket's handle is checked as it is paused. */
const useReadStop = !ruledOut('libuv_read_stop');

/**
 * Bytes a socket may have brought since it was last paused and still be paused
 * again. A paused socket can keep only its kernel receive window waiting (about
 * 90 KiB on loopback), so one that brings more per rest would be capped at a
 * window per rest and fall behind; it is read as it comes instead (a node that
 * busy is awake anyway, and its reads are large).
 */
export const MAX_PAUSED_BYTES = 32 * 1024;

/**
 * PausableReads over TCP sockets (the bus's Redis connections): pause() stops reading
 * each socket that is reading now, unless it brought more than MAX_PAUSED_BYTES
 * since the last pause; resume() starts exactly those again. A socket closed
 * meanwhile is left alone; one opened meanwhile (a reconnect) was never paused.
 * Nothing is lost or reordered: the bytes wait in the kernel.
 *
 * Without libuv's readStop/readStart (a socket without a handle, or a Node.js
 * that changed it), nothing is paused: the sockets are read as bytes come, as
 * they would be with no rest at all.
 */
export class SocketReadPause implements PausableReads {
  private paused: Socket[] = [];
  /** Each socket's bytesRead as of the last pause. */
  private readonly readAtPause = new WeakMap<Socket, number>();

  /**
   * `sockets` lists the sockets to pause as of now (they change with reconnects);
   * `internals: false` takes the fallback (nothing is paused).
   */
  constructor(
    private readonly sockets: () => Iterable<Socket | undefined>,
    private readonly internals = useReadStop,
  ) {}

  pause(): void {
    if (!this.internals || this.paused.length > 0) return;
    for (const socket of this.sockets()) {
      if (!socket || socket.destroyed) continue;
      const handle = handleOf(socket);
      if (!handle?.reading || this.busy(socket)) continue;
      handle.reading = false;
      if (handle.readStop() === 0) this.paused.push(socket);
      else handle.reading = true;
    }
  }

  /** Whether the socket brought more than MAX_PAUSED_BYTES since the last pause (then it is not paused this time). */
  private busy(socket: Socket): boolean {
    const read = socket.bytesRead;
    const before = this.readAtPause.get(socket) ?? read;
    this.readAtPause.set(socket, read);
    return read - before > MAX_PAUSED_BYTES;
  }

  resume(): void {
    const paused = this.paused;
    this.paused = [];
    for (const socket of paused) {
      const handle = socket.destroyed ? undefined : handleOf(socket);
      if (!handle || handle.reading) continue;
      handle.reading = true;
      if (handle.readStart() !== 0) socket.destroy(new Error('could not read from the socket again'));
    }
  }
}

/**
 * Whether a connected TCP socket of this Node.js has a handle that stops and
 * starts reading as SocketReadPause uses it: a loopback connection, stopped and
 * started once.
 */
async function probeReadStop(): Promise<boolean> {
  const server = createServer();
  const sockets: Socket[] = [];
  try {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(client);
    await once(client, 'connect');
    sockets.push(...((await accepted) as [Socket]));
    const handle = handleOf(client);
    if (!handle || typeof handle.reading !== 'boolean') return false;
    return handle.readStop() === 0 && handle.readStart() === 0;
  } catch {
    return false;
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

export const LIBUV_READ_STOP: Capability = {
  name: 'libuv_read_stop',
  internal: "libuv's readStop/readStart (a socket's _handle) pause the bus's sockets between two flushes",
  fallback: 'nothing paused: the bus reads its sockets as bytes come',
  inUse: async () => useReadStop && (await probeReadStop()),
};

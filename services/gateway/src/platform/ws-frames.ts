import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import * as ws from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { usable, type Capability } from './capability.js';

/**
 * Frames to clients, built once per node and written to each socket as bytes.
 * Two internals of ws make that cheap, each with a fallback of public means:
 *
 * - framing: ws's `Sender.frame` (made public for broadcasting, ws#617, but not
 *   declared by @types/ws), else a frame built here by RFC 6455 alone;
 * - writing: ws's `WebSocket._socket`, the TCP socket its own sender writes
 *   framed bytes to, else each frame's payload through ws's `send()`, which
 *   frames it again for each socket.
 *
 * Both are chosen once, when this module loads, by a probe of the installed ws.
 */

/** RFC 6455, 5.2: FIN (the last fragment) and the opcode of a text frame. */
const FIN_TEXT = 0x80 | 0x1;
/** Payload lengths up to this fit in the second byte; 126 says a 16-bit length follows, 127 a 64-bit one. */
const MAX_SHORT_LENGTH = 125;
const LENGTH_16 = 126;
const LENGTH_64 = 127;
const MAX_16 = 0xffff;

/** A server-to-client text frame (unmasked, unfragmented, no extension) holding `payload`, framed by RFC 6455 alone: one buffer. */
export function rfc6455TextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const head = length <= MAX_SHORT_LENGTH ? 2 : length <= MAX_16 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = FIN_TEXT;
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = LENGTH_16;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = LENGTH_64;
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
  payload.copy(frame, head);
  return frame;
}

/**
 * Each frame's payload in `wire`: server frames back to back, as textFrame()
 * makes them (unmasked, lengths as RFC 6455 writes them). Slices of `wire`, not copies.
 */
export function framePayloads(wire: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at < wire.length) {
    const short = wire[at + 1]! & 0x7f;
    const head = short === LENGTH_16 ? 4 : short === LENGTH_64 ? 10 : 2;
    const length = short === LENGTH_16 ? wire.readUInt16BE(at + 2) : short === LENGTH_64 ? wire.readUIntBE(at + 4, 6) : short;
    payloads.push(wire.subarray(at + head, at + head + length));
    at += head + length;
  }
  return payloads;
}

/** What ws's Sender.frame takes; a text frame of ours is always this. */
interface FrameOptions {
  readonly fin: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
  readonly rsv1: boolean;
}
const TEXT_FRAME_OPTIONS: FrameOptions = { fin: true, opcode: 0x1, mask: false, readOnly: true, rsv1: false };

/** ws's frame builder, if the installed ws has it. */
const wsSender = (ws as unknown as { Sender?: { frame?: (data: Buffer, options: FrameOptions) => Buffer[] } }).Sender;

/** A text frame built by ws's Sender.frame: header and payload in one buffer. */
function senderTextFrame(payload: Buffer): Buffer {
  const [head, body] = wsSender!.frame!(payload, TEXT_FRAME_OPTIONS);
  return body === undefined ? head! : Buffer.concat([head!, body]);
}

/** Payload sizes that take each of RFC 6455's three length forms, at their edges. */
const PROBE_SIZES = [0, 5, MAX_SHORT_LENGTH, LENGTH_16, MAX_16, MAX_16 + 1];

/** Whether ws's Sender.frame is there and frames exactly as RFC 6455 does. */
function probeSenderFrame(): boolean {
  if (typeof wsSender?.frame !== 'function') return false;
  return PROBE_SIZES.every((size) => {
    const payload = Buffer.alloc(size, 'a');
    return senderTextFrame(payload).equals(rfc6455TextFrame(payload));
  });
}

const useSenderFrame = usable('ws_sender_frame', probeSenderFrame);

/** A server-to-client WebSocket text frame holding `payload`: header and payload in one buffer. */
export const textFrame: (payload: Buffer) => Buffer = useSenderFrame ? senderTextFrame : rfc6455TextFrame;

export const WS_SENDER_FRAME: Capability = {
  name: 'ws_sender_frame',
  internal: "ws's Sender.frame builds each text frame",
  fallback: 'text frames built here by RFC 6455 alone',
  inUse: () => useSenderFrame,
};

/** The part of ws's WebSocket written through: the socket ws's own sender writes its framed bytes to (Sender.sendFrame). */
interface WsInternals {
  readonly _socket?: { write(data: Buffer): boolean } | null;
}

/** Write `wire` (frames) to the client's TCP socket as it is: one write, however many frames. */
function writeToSocket(socket: WebSocket, wire: Buffer): void {
  (socket as unknown as WsInternals)._socket!.write(wire);
}

/** Options of ws's send() for one of our frames: text, whole, never compressed (the gateway turns permessage-deflate off). */
const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const;

/** Send each frame of `wire` through ws's public send(), which frames its payload again. */
export function sendEach(socket: WebSocket, wire: Buffer): void {
  for (const payload of framePayloads(wire)) socket.send(payload, SEND_OPTIONS);
}

/** A GET request that asks for a WebSocket, as handleUpgrade reads one (RFC 6455's sample key). */
const PROBE_REQUEST = {
  method: 'GET',
  headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
} as unknown as IncomingMessage;

/**
 * Whether ws keeps the socket it was upgraded on as `_socket` and bytes written
 * there go out as they are: an upgrade as the gateway does it (noServer,
 * handleUpgrade), on an in-memory stream instead of a TCP socket.
 */
function probeRawSocket(): boolean {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _encoding, done) => {
      written.push(chunk);
      done();
    },
  });
  const server = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
  let socket: WebSocket | undefined;
  try {
    server.handleUpgrade(PROBE_REQUEST, stream, Buffer.alloc(0), (upgraded) => (socket = upgraded));
    const raw = socket === undefined ? undefined : (socket as unknown as WsInternals)._socket;
    if (raw !== stream) return false;
    const frame = textFrame(Buffer.from('probe'));
    const before = written.length;
    raw.write(frame);
    return written.length === before + 1 && written[before]!.equals(frame);
  } finally {
    socket?.terminate();
    stream.destroy();
    server.close();
  }
}

const useRawSocket = usable('ws_raw_socket', probeRawSocket);

/**
 * Write `wire` (one or more frames made by textFrame) to an open WebSocket:
 * straight to its socket, or, without that internal, frame by frame through ws's send().
 */
export const writeFrames: (socket: WebSocket, wire: Buffer) => void = useRawSocket ? writeToSocket : sendEach;

export const WS_RAW_SOCKET: Capability = {
  name: 'ws_raw_socket',
  internal: "ws's WebSocket._socket takes a flush's frames, framed once per node, in one write",
  fallback: "each frame's payload sent through ws's send(), which frames it again for each socket",
  inUse: () => useRawSocket,
};

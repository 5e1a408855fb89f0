import * as ws from 'ws';
import type { Outgoing } from '../hub/peer.js';

interface FrameOptions {
  readonly fin: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly readOnly: boolean;
  readonly rsv1: boolean;
}

/** ws's frame builder (`Sender.frame`, made public for broadcasting: ws#617), which @types/ws does not declare. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };
/** Opcode of a text frame (RFC 6455). */
const TEXT_OPCODE = 1;

/** A server-to-client WebSocket text frame holding `payload`: header and payload in one buffer. */
export function textFrame(payload: Buffer): Buffer {
  const [head, body] = Sender.frame(payload, { fin: true, opcode: TEXT_OPCODE, mask: false, readOnly: true, rsv1: false });
  return body === undefined ? head! : Buffer.concat([head!, body]);
}

/** The wire bytes of an outgoing frame, framed the first time they are asked for and shared after. */
export function wireOf(out: Outgoing): Buffer {
  out.wire ??= textFrame(out.payload);
  return out.wire;
}

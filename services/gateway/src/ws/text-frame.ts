import type { Outgoing } from '../hub/peer.js';
import { textFrame } from '../platform/ws-frames.js';

/** The wire bytes of an outgoing frame, framed the first time they are asked for and shared after (platform/ws-frames.ts frames). */
export function wireOf(out: Outgoing): Buffer {
  out.wire ??= textFrame(out.payload);
  return out.wire;
}

import { ProtocolError } from './errors.js';
import type { ServerFrame } from './server-frames.js';
import { parseServerFrame } from './server-frame-codec.js';

/**
 * Protocol v2: one server text frame may carry several frames, a batch. Each is
 * one JSON object exactly as encodeServerFrame() writes it, on its own line; the
 * lines are joined by a single "\n" (U+000A), which JSON text never contains raw.
 * There is no other form: no empty line, no "\n" at the start or the end, no
 * "\r", no whitespace around an object. A frame with one line is an ordinary
 * single frame, so a batch of one is indistinguishable from no batch.
 *
 * Seed-protocol (v1) connections never get batches.
 */
export const BATCH_SEPARATOR = '\n';

/**
 * Join already encoded frames (each an encodeServerFrame() result) into one text
 * frame, in order. Throws ProtocolError for an empty list: there is nothing to send.
 */
export function joinServerFrames(encoded: readonly string[]): string {
  if (encoded.length === 0) throw new ProtocolError('a batch needs at least one frame');
  return encoded.join(BATCH_SEPARATOR);
}

/**
 * Parse a v2 server text frame: one frame or a batch of them, in the order
 * sent. Strict: every line must be one valid frame (see BATCH_SEPARATOR), or the
 * whole text is refused with a ProtocolError naming the first bad line, and none
 * of its frames is returned.
 */
export function parseServerFrames(text: string): ServerFrame[] {
  const lines = text.split(BATCH_SEPARATOR);
  return lines.map((line, index) => {
    const where = lines.length > 1 ? `batch line ${index + 1}: ` : '';
    if (!(line.startsWith('{') && line.endsWith('}'))) {
      throw new ProtocolError(`${where}${line === '' ? 'empty line' : 'not one JSON object without surrounding whitespace'}`);
    }
    try {
      return parseServerFrame(line);
    } catch (err) {
      if (err instanceof ProtocolError) throw new ProtocolError(`${where}${err.message}`);
      throw err;
    }
  });
}

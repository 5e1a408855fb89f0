import { ProtocolError } from './errors.js';
import { BROADCAST_TYPES, SERVER_FRAME_TYPES, type BroadcastEvent, type ServerFrame } from './server-frames.js';

/** Serialize a server frame. The gateway calls this once per event per node, never per client. */
export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Parse and validate one server frame (for clients, tests and the cluster bus).
 * Throws ProtocolError when the text is not JSON or lacks the seed's fields.
 */
export function parseServerFrame(text: string): ServerFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('server frame is not JSON');
  }
  return validateServerFrame(value);
}

/** Validate an already parsed value as a server frame; throws ProtocolError. */
export function validateServerFrame(value: unknown): ServerFrame {
  if (typeof value !== 'object' || value === null) {
    throw new ProtocolError('server frame is not an object');
  }
  const frame = value as Record<string, unknown>;
  if (typeof frame.type !== 'string' || !SERVER_FRAME_TYPES.has(frame.type)) {
    throw new ProtocolError(`unknown server frame type: ${String(frame.type)}`);
  }
  for (const field of ['id', 'nickname', 'message'] as const) {
    if (typeof frame[field] !== 'string') {
      throw new ProtocolError(`${frame.type} frame lacks string field "${field}"`);
    }
  }
  if (frame.type === 'error' && frame.retryAfterMs !== undefined && !isWholeMs(frame.retryAfterMs)) {
    throw new ProtocolError('error frame has a "retryAfterMs" that is not a whole number of ms');
  }
  return frame as unknown as ServerFrame;
}

/** A non-negative whole number a client can wait for (an error's retry hint). */
function isWholeMs(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isBroadcastEvent(frame: ServerFrame): frame is BroadcastEvent {
  return BROADCAST_TYPES.has(frame.type);
}

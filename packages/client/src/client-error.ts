import type { ErrorCode } from '@switchboard/protocol';

/** Why the client refused to send something, or why a frame it sent was not delivered. */
export type ClientErrorCode =
  /** Not connected now (protocol v1; v2 while idle or closed); nothing was sent. */
  | 'NOT_OPEN'
  /** The frame would exceed maxMessageBytes; the server would close the connection with 1009. */
  | 'MESSAGE_TOO_BIG'
  /** Protocol v2: maxOutbox frames already wait for their acknowledgement; nothing was queued. */
  | 'OUTBOX_FULL'
  /** Protocol v2: the client closed (close(), a terminal close code, out of attempts) before the frame was acknowledged. */
  | 'CLOSED'
  /** join(), who(), rooms() on a server without rooms (its welcome names no room); nothing was sent. */
  | 'NOT_SUPPORTED'
  /**
   * The input would be refused by the server anyway (a bad nickname, an empty line),
   * or, for a v2 send, the server refused it for good with this code.
   */
  | ErrorCode;

/**
 * Thrown by send(), setNick(), join(), who(), rooms() and submit(), or the
 * rejection of their promise; `message` is a sentence a person can read.
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

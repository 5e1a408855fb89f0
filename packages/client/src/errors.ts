import type { ErrorCode } from '@switchboard/protocol';

/** Why the client refused to send something, before anything reached the wire. */
export type ClientErrorCode =
  /** Not connected now (connecting, reconnecting or closed); nothing was sent. */
  | 'NOT_OPEN'
  /** The frame would exceed maxMessageBytes; the server would close the connection with 1009. */
  | 'MESSAGE_TOO_BIG'
  /** The input would be refused by the server anyway: a bad nickname (NICK_*), an empty line. */
  | ErrorCode;

/** Thrown by send(), setNick() and submit(); `message` is a sentence a person can read. */
export class ClientError extends Error {
  override readonly name = 'ClientError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
  }
}

import { ErrorCode, validateNickname } from '@switchboard/protocol';
import { ClientError } from './client-error.js';

const encoder = new TextEncoder();

/** The server takes the first word after `/nick`; a name with spaces would be cut, so it is refused here. */
export function checkNickname(nickname: string): string {
  const error = validateNickname(nickname);
  if (error) throw new ClientError(error.code, error.message);
  if (/\s/u.test(nickname)) throw new ClientError(ErrorCode.NICK_INVALID, 'Nicknames are one word, without spaces.');
  return nickname;
}

/** Throws MESSAGE_TOO_BIG when `frame`, as UTF-8, is over `maxBytes`: the server would close the connection for it. */
export function checkFrameSize(frame: string, maxBytes: number): void {
  const bytes = encoder.encode(frame).length;
  if (bytes > maxBytes) {
    throw new ClientError('MESSAGE_TOO_BIG', `The message is ${bytes} bytes; the limit is ${maxBytes}.`);
  }
}

import { ErrorCode, errorInfo, type ProtocolErrorInfo } from './errors.js';
import { MAX_NICKNAME_LENGTH } from './limits.js';

// C0/C1 controls, DEL and the Unicode line/paragraph separators: they would break a
// one-line nickname in every client.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/** Check a nickname; returns the error to send, or undefined when it is acceptable. */
export function validateNickname(nickname: string): ProtocolErrorInfo | undefined {
  if (nickname.length === 0) return errorInfo(ErrorCode.NICK_REQUIRED);
  if ([...nickname].length > MAX_NICKNAME_LENGTH) return errorInfo(ErrorCode.NICK_TOO_LONG);
  if (CONTROL_CHARS.test(nickname)) return errorInfo(ErrorCode.NICK_INVALID);
  return undefined;
}

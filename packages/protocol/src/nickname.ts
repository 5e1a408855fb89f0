import { ErrorCode, errorInfo, type ProtocolErrorInfo } from './errors.js';
import { MAX_NICKNAME_LENGTH } from './limits.js';

/**
 * The one nickname rule, for both protocols (`/nick NAME` and `{"type":"nick"}`),
 * the SDK and the page: what a client asks for is NFC-normalized and trimmed, its
 * first whitespace-separated word is the name, and that name must be 1 to
 * MAX_NICKNAME_LENGTH code points with none of the characters below.
 */

/**
 * Characters a nickname may not hold, because they break a one-line name or make
 * it look like someone else's:
 * - control characters: C0, DEL, C1 (`\p{Cc}`) and the line/paragraph separators U+2028, U+2029;
 * - bidi controls (`\p{Bidi_Control}`): the embeddings and overrides U+202A–U+202E,
 *   the isolates U+2066–U+2069 and the invisible marks U+061C, U+200E, U+200F;
 * - zero-width characters: U+200B–U+200D, U+2060, U+FEFF;
 * - lone surrogates (`\p{Cs}`), which a JSON `\ud800` escape can carry and UTF-8 cannot.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Bidi_Control}\u2028\u2029\u200b-\u200d\u2060\ufeff]/u;

/**
 * What separates words: Unicode White_Space. Not JavaScript's `\s`, which also
 * counts U+FEFF: a zero-width character is refused wherever it is, never taken
 * for a space that cuts the name short.
 */
const SPACE = /\p{White_Space}+/u;
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

export type NicknameResult = { readonly ok: true; readonly nickname: string } | { readonly ok: false; readonly error: ProtocolErrorInfo };

/**
 * The nickname a rename request asks for: `requested` (what follows `/nick`, or
 * the v2 `nickname` field) NFC-normalized and trimmed, its first
 * whitespace-separated word (see SPACE), checked by validateNickname. Never throws.
 */
export function parseNickname(requested: string): NicknameResult {
  const nickname = requested.normalize('NFC').replace(EDGE_SPACE, '').split(SPACE)[0] ?? '';
  const error = validateNickname(nickname);
  return error ? { ok: false, error } : { ok: true, nickname };
}

/**
 * Check a nickname as it will be shown (already one word, NFC): returns the error
 * to send, or undefined when it is acceptable. Empty: NICK_REQUIRED; over
 * MAX_NICKNAME_LENGTH code points: NICK_TOO_LONG; a forbidden character: NICK_INVALID.
 */
export function validateNickname(nickname: string): ProtocolErrorInfo | undefined {
  if (nickname.length === 0) return errorInfo(ErrorCode.NICK_REQUIRED);
  if (codePointLength(nickname) > MAX_NICKNAME_LENGTH) return errorInfo(ErrorCode.NICK_TOO_LONG);
  if (FORBIDDEN.test(nickname)) return errorInfo(ErrorCode.NICK_INVALID);
  return undefined;
}

/** Length in code points (what a person counts as characters, near enough), not UTF-16 units. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * The key under which a nickname is unique in the cluster: the same for names
 * that differ only in case (`Ada`, `ADA`, `ada`). Names are NFC already (parseNickname).
 */
export function nicknameKey(nickname: string): string {
  return nickname.toLowerCase();
}

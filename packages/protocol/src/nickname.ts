import { ErrorCode, errorInfo, type ProtocolErrorInfo } from './errors.js';
import { MAX_NICKNAME_LENGTH } from './limits.js';

/**
 * The one nickname rule, for both protocols (`/nick NAME` and `{"type":"nick"}`),
 * the SDK and the page: what a client asks for is NFC-normalized and trimmed, its
 * first whitespace-separated word is the name, and that name must be 1 to
 * MAX_NICKNAME_LENGTH code points with none of the characters below.
 *
 * Which acceptable names count as the same name is the gateway's to say
 * (services/gateway/src/sessions/nickname-keys.ts: by case and by look, with
 * Unicode's confusables, data too large to ship to the page).
 */

/**
 * Characters a nickname may not hold, because they break a one-line name, render
 * as nothing (`alice` followed by one looks like `alice`; a name of them alone is
 * blank), or pass for other letters:
 * - control characters: C0, DEL, C1 (`\p{Cc}`) and the line/paragraph separators U+2028, U+2029;
 * - format characters (`\p{Cf}`): the bidi controls (embeddings, overrides,
 *   isolates, marks), the zero-width space and joiners, the word joiner, U+FEFF,
 *   the soft hyphen U+00AD, the invisible operators U+2061–U+2064, the Mongolian
 *   vowel separator U+180E, tags (U+E0001, U+E0020–U+E007F) and the rest;
 * - every other `\p{Default_Ignorable_Code_Point}`, which fonts draw as nothing:
 *   the variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF), the combining
 *   grapheme joiner U+034F, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
 *   the Khmer inherent vowels U+17B4, U+17B5, the Mongolian free variation
 *   selectors; except where an emoji needs one (EMOJI, below);
 * - the braille blank U+2800, which looks like a space and is not one;
 * - private-use characters (`\p{Co}`), which look like whatever a font puts there;
 * - phonetic letters: the Phonetic Extensions blocks (U+1D00–U+1DBF) and the small
 *   capitals elsewhere (ɢ ɪ ɴ ɶ ʀ ʁ ʏ ʙ ʛ ʜ ʟ ꜰ ꜱ ꞯ ꟺ): a small capital such as
 *   `ᴀ` passes for a lowercase letter, and Unicode's confusables (which the
 *   gateway compares names by) leave most of them apart from the letter they copy;
 * - lone surrogates (`\p{Cs}`), which a JSON `\ud800` escape can carry and UTF-8 cannot.
 */
const FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800\u1d00-\u1dbf\u0262\u026a\u0274\u0276\u0280\u0281\u028f\u0299\u029b\u029c\u029f\ua730\ua731\ua7af\ua7fa]/u;

/**
 * An emoji with what it may carry that is otherwise refused: a presentation
 * selector (U+FE0E text, U+FE0F emoji: `❤️`) and a skin tone after it, more
 * emoji joined by U+200D (`👩‍💻`), or a keycap (`1️⃣`). These are checked with
 * their selectors and joiners taken out; anywhere else those are invisible.
 */
const EMOJI =
  /\p{Extended_Pictographic}(?:[\ufe0e\ufe0f]|\p{Emoji_Modifier})*(?:\u200d\p{Extended_Pictographic}(?:[\ufe0e\ufe0f]|\p{Emoji_Modifier})*)*|[#*0-9]\ufe0f\u20e3/gu;
const EMOJI_JOINERS = /[\ufe0e\ufe0f\u200d]/gu;

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
 * MAX_NICKNAME_LENGTH code points: NICK_TOO_LONG; a forbidden character (outside
 * an emoji's own selectors and joiners): NICK_INVALID.
 */
export function validateNickname(nickname: string): ProtocolErrorInfo | undefined {
  if (nickname.length === 0) return errorInfo(ErrorCode.NICK_REQUIRED);
  if (codePointLength(nickname) > MAX_NICKNAME_LENGTH) return errorInfo(ErrorCode.NICK_TOO_LONG);
  const bare = nickname.replace(EMOJI, (emoji) => emoji.replace(EMOJI_JOINERS, ''));
  if (FORBIDDEN.test(bare)) return errorInfo(ErrorCode.NICK_INVALID);
  return undefined;
}

/** Length in code points (what a person counts as characters, near enough), not UTF-16 units. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

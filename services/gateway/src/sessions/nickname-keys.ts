import type { Nickname } from '@switchboard/protocol';
import unhomoglyph from 'unhomoglyph';

/**
 * When two nicknames are the same name: when they differ only in case, or only
 * in letters that look alike (`alice`, `Alice`, Cyrillic `аlice`, fullwidth
 * `ａｌｉｃｅ`, `𝐚lice`, `a1ice`, `aIice` with a capital I). Names are compared by their
 * confusable skeleton (Unicode TR39), taken after NFKC and case folding; the
 * name shown stays the one its holder typed (NFC, packages/protocol's
 * nickname.ts, which also refuses what renders as nothing).
 *
 * A name has up to three keys, and two names are the same when they share one:
 * - the skeleton of its folded form: catches look-alikes of lowercase letters
 *   and differences of case;
 * - the same of its skeleton: catches capitals that copy other capitals (Greek
 *   `Β`, Cyrillic `В` for `B`; `I` for `l`), which folding first would turn
 *   into letters that no longer look alike (`β`, `в`; `i`);
 * - its lowercase, the only key of nodes before look-alikes counted: a session
 *   they registered holds its name under it, so during a rolling upgrade a new
 *   node still finds it (and an old node finds a name a new node gave).
 *
 * The confusables come from the `unhomoglyph` package (TR39's confusables.txt
 * as one map of code points); its data stays on the gateway, never in the page.
 */
export function nicknameKeys(nickname: Nickname): readonly string[] {
  const compatible = nickname.normalize('NFKC');
  const keys = [nickname.toLowerCase(), skeleton(fold(compatible)), skeleton(fold(skeleton(compatible)))];
  return [...new Set(keys)];
}

/** Anything Unicode says a renderer may draw as nothing: TR39's skeleton leaves it out. */
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * TR39's skeleton(): NFD, without default-ignorable characters, each character
 * replaced by its prototype in confusables.txt (`а` -> `a`, `1` -> `l`, `m` -> `rn`), NFD again.
 * Not for showing: it only tells whether two strings look alike.
 */
export function skeleton(text: string): string {
  return unhomoglyph(text.normalize('NFD').replace(IGNORABLE, '')).normalize('NFD');
}

/**
 * Full case folding, near enough: upper then lower case, so that `ß` and `SS`
 * both become `ss`, and `ς` and `σ` one sigma.
 */
function fold(text: string): string {
  return text.toUpperCase().toLowerCase();
}

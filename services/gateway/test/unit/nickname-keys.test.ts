import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNickname, validateNickname } from '@switchboard/protocol';
import { nicknameKeys, skeleton } from '../../src/sessions/nickname-keys.js';

/** Whether two names are the same name: they share a key (as the registries decide it). */
function same(a: string, b: string): boolean {
  const keys = new Set(nicknameKeys(a));
  return nicknameKeys(b).some((key) => keys.has(key));
}

/** The look-alikes of `alice` the abuse report found accepted beside it (issue 20), by what they use. */
const ALICE_LOOK_ALIKES: Readonly<Record<string, string>> = {
  'Cyrillic а': '\u0430lice',
  fullwidth: '\uff41\uff4c\uff49\uff43\uff45',
  'mathematical bold a': '\u{1d41a}lice',
  'small capital A': '\u1d00lice',
  'soft hyphen': 'alice\u00ad',
  'combining grapheme joiner': 'alice\u034f',
  'variation selector 16': 'alice\ufe0f',
  'variation selector 1': 'alice\ufe00',
  'invisible times': 'alice\u2062',
  'tag A': 'alice\u{e0041}',
  'Mongolian vowel separator': 'alice\u180e',
  'Hangul choseong filler': 'alice\u115f',
  'halfwidth Hangul filler': 'alice\uffa0',
  'Khmer inherent vowel aq': 'alice\u17b4',
};

describe('nicknameKeys: when two names are the same name', () => {
  it('makes every look-alike of alice either refused by the nickname rule or the same name as alice', () => {
    for (const [what, name] of Object.entries(ALICE_LOOK_ALIKES)) {
      const parsed = parseNickname(name);
      assert.ok(!parsed.ok || same(parsed.nickname, 'alice'), `${what} (${JSON.stringify(name)}) is accepted as a name of its own`);
    }
  });

  it('takes letters of other scripts and styles for the Latin ones they copy', () => {
    for (const name of [
      '\u0430lice',
      '\uff41\uff4c\uff49\uff43\uff45',
      '\u{1d41a}lice',
      '\u{1d5ba}\u{1d5c5}\u{1d5c2}\u{1d5bc}\u{1d5be}',
      'al\u0456ce',
    ]) {
      assert.ok(same(name, 'alice'), JSON.stringify(name));
    }
    assert.ok(same('a1ice', 'alice'), 'the digit one passes for an l');
    assert.ok(same('b0b', 'bob'), 'zero passes for an o, whatever the case');
    assert.ok(same('tom', 'torn'), 'rn passes for m');
  });

  it('is blind to case, and to capitals that copy other capitals', () => {
    for (const name of ['Alice', 'ALICE', 'aLiCe']) assert.ok(same(name, 'alice'), name);
    assert.ok(same('Stra\u00dfe', 'STRASSE'), 'ß folds to ss');
    assert.ok(same('aIice', 'alice'), 'a capital I passes for an l');
    assert.ok(same('\u0392OB', 'BOB') && same('\u0392OB', 'bob'), 'Greek capital Beta');
    assert.ok(same('\u0412\u041e\u0412', 'bob'), 'Cyrillic ВОВ');
    assert.ok(same('\u0391LICE', 'alice'), 'Greek capital Alpha');
    assert.ok(same('\u041c\u0410\u0425', 'max'), 'Cyrillic МАХ');
  });

  it('ignores what renders as nothing, should a name ever hold it', () => {
    assert.equal(skeleton('ali\u00adce\u200d\ufe0f'), skeleton('alice'));
    assert.ok(same('ana\u2764\ufe0f', 'ana\u2764'), 'an emoji with and without its presentation selector');
  });

  it('keeps apart names that look different, in every script', () => {
    const names = [
      'alice',
      'alicia',
      'bob',
      'Jos\u00e9',
      'Jose',
      'Zo\u00eb',
      'Zoe',
      'M\u00fcller',
      'Muller',
      'Mueller',
      '\u0141ukasz',
      'Dvo\u0159\u00e1k',
      '\u018fliyev',
      '\u0410\u043b\u0435\u043a\u0441\u0435\u0439',
      '\u0410\u043b\u0451\u043a\u0441\u0435\u0439',
      '\u041e\u043b\u044c\u0433\u0430',
      '\u0414\u043c\u0438\u0442\u0440\u0438\u0439',
      '\u039d\u03af\u03ba\u03bf\u03c2',
      '\u674e\u5c0f\u9f8d',
      '\u7530\u4e2d',
      '\u3055\u304f\u3089',
      '\u30b5\u30af\u30e9',
      '\uae40\ubbfc\uc900',
      '\u0645\u062d\u0645\u062f',
      '\u0641\u0627\u0637\u0645\u0629',
      '\u05d3\u05d5\u05d3',
      '\u0930\u093e\u092e',
      '\u0e2a\u0e21\u0e0a\u0e32\u0e22',
      '\u2764\ufe0f',
      '\u{1f469}\u200d\u{1f4bb}',
      '\u{1f1eb}\u{1f1f7}',
      '\u{1f1e9}\u{1f1ea}',
      'ana\u{1f600}',
      'ana\u{1f601}',
    ];
    for (const name of names) assert.equal(validateNickname(name), undefined, `${name} is an acceptable name`);
    for (const [i, a] of names.entries()) {
      for (const b of names.slice(i + 1)) assert.ok(!same(a, b), `${a} and ${b} are two names`);
    }
  });

  it("counts a name's lowercase among its keys: the only key of nodes from before look-alikes counted", () => {
    for (const name of ['M\u00fcller', 'ALICE', 'Tom', '\u674e']) assert.ok(nicknameKeys(name).includes(name.toLowerCase()), name);
  });
});

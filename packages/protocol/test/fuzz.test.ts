import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ErrorCode,
  MAX_NICKNAME_LENGTH,
  MAX_REF_LENGTH,
  parseClientFrameV2,
  parseClientText,
  parseHello,
  parseNickname,
  type ParseResult,
} from '@switchboard/protocol';

/**
 * Property-based fuzzing of every client-frame parser: whatever a client sends,
 * the answer is a command or a refusal from the catalogue, never an exception.
 * Bounded (NUM_RUNS per property) so `npm run test:unit` stays fast; a failure
 * prints its seed and shrunk input, and `FUZZ_SEED=<seed>` replays it.
 */
const NUM_RUNS = 2_000;
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = { numRuns: NUM_RUNS, ...(seed === undefined ? {} : { seed }) };

/** The characters a nickname may not hold, listed here independently of the rule in nickname.ts. */
const FORBIDDEN_CODE_POINTS = [
  ...range(0x00, 0x1f),
  0x7f,
  ...range(0x80, 0x9f), // control characters
  0x2028,
  0x2029, // line and paragraph separators
  ...range(0x202a, 0x202e),
  ...range(0x2066, 0x2069),
  0x061c,
  0x200e,
  0x200f, // bidi controls
  ...range(0x200b, 0x200d),
  0x2060,
  0xfeff, // zero-width characters
  // the rest of Default_Ignorable_Code_Point (DerivedCoreProperties.txt): drawn as nothing
  0x00ad,
  0x034f,
  0x115f,
  0x1160,
  0x17b4,
  0x17b5,
  ...range(0x180b, 0x180f),
  ...range(0x2061, 0x2065),
  ...range(0x206a, 0x206f),
  0x3164,
  ...range(0xfe00, 0xfe0f),
  0xffa0,
  ...range(0xfff0, 0xfff8),
  ...range(0x1bca0, 0x1bca3),
  ...range(0x1d173, 0x1d17a),
  ...range(0xe0000, 0xe007f),
  ...range(0xe0100, 0xe01ef),
  0xe01f0,
  0xe0fff,
  0x2800, // the braille blank
  ...range(0x0600, 0x0605),
  0x06dd,
  0x070f,
  ...range(0xfff9, 0xfffb),
  0x110bd, // other format characters
  0xe000,
  0xf8ff,
  0xf0000,
  0x10fffd, // private use
  ...range(0x1d00, 0x1dbf),
  0x0262,
  0x026a,
  0x0274,
  0x0276,
  0x0280,
  0x0281,
  0x028f,
  0x0299,
  0x029b,
  0x029c,
  0x029f,
  0xa730,
  0xa731,
  0xa7af,
  0xa7fa, // phonetic letters: small capitals and the like
];
/** Forbidden characters an emoji may carry (`❤️`, `👩‍💻`, `1️⃣`): presentation selectors and the joiner. */
const EMOJI_JOINERS = new Set([0xfe0e, 0xfe0f, 0x200d]);
const FORBIDDEN = new Set(FORBIDDEN_CODE_POINTS);
const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
/** Keys that would change an object's prototype or shadow its methods, if a parser copied them carelessly. */
const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];
/** Longest sentence a refusal may carry: it never echoes a client's input at length. */
const LONGEST_REFUSAL = 200;

// --- arbitraries -------------------------------------------------------------

/** Single characters that matter to the nickname rule: forbidden ones, spaces, composing marks, lone surrogates. */
const trickyChar = fc.oneof(
  fc.constantFrom(...FORBIDDEN_CODE_POINTS.map((cp) => String.fromCodePoint(cp))),
  fc.constantFrom(
    ' ',
    '\t',
    '\n',
    '\u00a0',
    '\u3000',
    '\u1680',
    'e\u0301',
    '\u00e9',
    'A\u030a',
    '\u212b',
    '\u1e9b\u0323',
    '한',
    '\u1100\u1161',
    '\u2764',
    '\u{1f469}',
    '\u{1f4bb}',
    '\u{1f3fd}',
    '\u20e3',
    '#',
  ),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.constantFrom('/nick', '/nick ', '{', '"', '\\', 'ada'),
);

/** Any string: every code point, whole graphemes, and the characters above, mixed. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.oneof(trickyChar, fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 })), maxLength: 40 }),
);

/** Numbers a JSON field might hold: huge, negative, fractional, -0, non-safe integers. */
const anyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
);

/** Any JSON value, with polluting keys likely among the object keys. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    anyNumber,
    anyText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** An object that looks like a client frame: a plausible or odd `type`, and plausible or odd fields. */
const frameLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom('hello', 'message', 'nick', 'ack', '', 'HELLO', '__proto__'), anyJson),
    message: fc.oneof(anyText, anyJson),
    nickname: fc.oneof(anyText, anyJson),
    ref: fc.oneof(fc.string({ minLength: 0, maxLength: MAX_REF_LENGTH + 2 }), anyJson),
    session: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
    since: fc.oneof(anyNumber, anyJson),
    epoch: fc.oneof(fc.string({ maxLength: 20 }), anyJson),
    constructor: anyJson,
    toString: anyJson,
  },
  { requiredKeys: [] },
);

/** The text of a frame: a frame-like object, any JSON value, or any string at all. */
const anyFrameText = fc.oneof(
  frameLike.map((frame) => JSON.stringify(frame)),
  // JSON.stringify drops a `__proto__` own key; write one in by hand, as a client could.
  fc.tuple(frameLike, anyJson).map(([frame, proto]) => `{"__proto__":${JSON.stringify(proto) ?? 'null'},${JSON.stringify(frame).slice(1)}`),
  anyJson.map((value) => JSON.stringify(value) ?? 'null'),
  anyText,
);

// --- checks ------------------------------------------------------------------

/** A ParseResult is a command of a known type or a refusal with a catalogue code and a short sentence. */
function assertDefined(result: ParseResult): void {
  if (result.ok) {
    assert.ok(result.command.type === 'message' || result.command.type === 'nick', `command type ${result.command.type}`);
    if (result.command.type === 'message') assert.equal(typeof result.command.message, 'string');
    else assertAcceptableNickname(result.command.nickname);
    if (result.command.ref !== undefined) assertRef(result.command.ref);
  } else {
    assertRefusal(result.error);
    if (result.ref !== undefined) assertRef(result.ref);
  }
}

function assertRefusal(error: { code: string; message: string }): void {
  assert.ok(ERROR_CODES.has(error.code), `error code ${error.code} is in the catalogue`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0 && error.message.length <= LONGEST_REFUSAL, `refusal sentence length ${error.message.length}`);
}

function assertRef(ref: string): void {
  assert.equal(typeof ref, 'string');
  assert.ok(ref.length >= 1 && ref.length <= MAX_REF_LENGTH);
}

/** What every accepted nickname is: NFC, one word, 1 to MAX_NICKNAME_LENGTH code points, nothing forbidden. */
function assertAcceptableNickname(nickname: string): void {
  const codePoints = Array.from(nickname, (c) => c.codePointAt(0)!);
  assert.ok(codePoints.length >= 1 && codePoints.length <= MAX_NICKNAME_LENGTH, `length ${codePoints.length}`);
  assert.equal(nickname, nickname.normalize('NFC'), 'NFC');
  assert.equal(nickname, nickname.trim(), 'trimmed');
  assert.doesNotMatch(nickname, /\s/u, 'one word');
  for (const [i, cp] of codePoints.entries()) {
    const allowed = EMOJI_JOINERS.has(cp) && partOfEmoji(codePoints, i);
    assert.ok(!FORBIDDEN.has(cp) || allowed, `holds forbidden U+${cp.toString(16).padStart(4, '0')}`);
    assert.ok(cp < 0xd800 || cp > 0xdfff, 'no lone surrogate');
  }
}

/** Nothing a parser did reached Object.prototype. */
function assertPrototypeClean(): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['type', 'message', 'nickname', 'ref', 'session', 'since', 'epoch']) {
    assert.equal(probe[key], undefined, `Object.prototype gained "${key}"`);
  }
}

function outcome(result: { ok: true; nickname: string } | { ok: false; error: { code: string } }): string {
  return result.ok ? `nick ${JSON.stringify(result.nickname)}` : `error ${result.error.code}`;
}

function commandOutcome(result: ParseResult): string {
  if (!result.ok) return `error ${result.error.code}`;
  return result.command.type === 'nick' ? `nick ${JSON.stringify(result.command.nickname)}` : 'message';
}

// --- properties --------------------------------------------------------------

describe('fuzzing the seed text parser (parseClientText)', () => {
  it('answers any text with a command or a catalogue error, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          anyText.map((rest) => `/nick${rest}`),
          anyText.map((rest) => `/nick ${rest}`),
        ),
        (text) => {
          assertDefined(parseClientText(text));
        },
      ),
      params,
    );
  });

  it('passes a chat line on exactly as typed', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        // A slash then a letter starts a command (known, or refused with UNKNOWN_COMMAND).
        fc.pre(!/^\/\p{L}/u.test(text));
        const result = parseClientText(text);
        if (result.ok) assert.deepEqual(result.command, { type: 'message', message: text });
        else assert.equal(result.error.code, ErrorCode.EMPTY_MESSAGE);
      }),
      params,
    );
  });
});

describe('fuzzing the seed text parser: commands', () => {
  it('refuses any slash word that names no command with UNKNOWN_COMMAND, naming it, and never broadcasts it', () => {
    const known = new Set(['nick', 'join', 'who', 'rooms', 'help']);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9_-]{0,40}$/), anyText, (word, rest) => {
        fc.pre(!known.has(word));
        const result = parseClientText(`/${word} ${rest}`);
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.equal(result.error.code, ErrorCode.UNKNOWN_COMMAND);
          assert.ok(result.error.message.includes(`/${word.slice(0, 32)}`), result.error.message);
        }
      }),
      params,
    );
  });
});

describe('fuzzing the v2 parsers (parseHello, parseClientFrameV2)', () => {
  it('answers any frame after hello with a command or a catalogue error, never an exception', () => {
    fc.assert(
      fc.property(anyFrameText, (text) => {
        assertDefined(parseClientFrameV2(text));
        assertPrototypeClean();
      }),
      params,
    );
  });

  it('answers any first frame with a hello of known fields or a BAD_FRAME, never an exception', () => {
    fc.assert(
      fc.property(anyFrameText, (text) => {
        const result = parseHello(text);
        assertPrototypeClean();
        if (!result.ok) {
          assertRefusal(result.error);
          assert.equal(result.error.code, ErrorCode.BAD_FRAME);
          return;
        }
        const { type, session, since, epoch, ...rest } = result.hello;
        assert.equal(type, 'hello');
        assert.deepEqual(Object.keys(rest), [], 'no field beyond type, session, since, epoch');
        assert.equal(Object.getPrototypeOf(result.hello), Object.prototype);
        if (session !== undefined) assert.equal(typeof session, 'string');
        if (epoch !== undefined) assert.equal(typeof epoch, 'string');
        if (since !== undefined) assert.ok(Number.isSafeInteger(since) && since >= 0, `since ${since}`);
      }),
      params,
    );
  });

  it('echoes a valid ref on every answer to a frame that carried one', () => {
    fc.assert(
      fc.property(frameLike, fc.string({ minLength: 1, maxLength: MAX_REF_LENGTH }), (frame, ref) => {
        const result = parseClientFrameV2(JSON.stringify({ ...frame, ref }));
        assert.equal(result.ok ? result.command.ref : result.ref, ref);
      }),
      params,
    );
  });
});

describe('fuzzing the nickname rule (parseNickname)', () => {
  it('accepts only NFC, trimmed, one-word names of 1 to MAX_NICKNAME_LENGTH code points with no forbidden character', () => {
    fc.assert(
      fc.property(anyText, (requested) => {
        const result = parseNickname(requested);
        if (result.ok) assertAcceptableNickname(result.nickname);
        else assert.ok([ErrorCode.NICK_REQUIRED, ErrorCode.NICK_TOO_LONG, ErrorCode.NICK_INVALID].includes(result.error.code as never));
      }),
      params,
    );
  });

  it('refuses any name that holds a forbidden character with NICK_INVALID', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', maxLength: 10 }).filter((s) => !/\s/u.test(s)),
        fc.constantFrom(...FORBIDDEN_CODE_POINTS.filter((cp) => !/\p{White_Space}/u.test(String.fromCodePoint(cp)))),
        fc.string({ unit: 'grapheme-ascii', maxLength: 10 }).filter((s) => !/\s/u.test(s)),
        (before, cp, after) => {
          const result = parseNickname(`${before}${String.fromCodePoint(cp)}${after}`);
          assert.equal(!result.ok && result.error.code, ErrorCode.NICK_INVALID, `U+${cp.toString(16)}`);
        },
      ),
      params,
    );
  });

  it('gives the same answer to `/nick X` and to a v2 nick frame with X', () => {
    fc.assert(
      fc.property(anyText, (requested) => {
        const seed = parseClientText(`/nick ${requested}`);
        const v2 = parseClientFrameV2(JSON.stringify({ type: 'nick', nickname: requested }));
        assert.equal(commandOutcome(v2), commandOutcome(seed));
        assert.equal(commandOutcome(seed), outcome(parseNickname(requested)));
      }),
      params,
    );
  });

  it('gives the same name to inputs that differ only in normalization', () => {
    fc.assert(
      fc.property(anyText, (requested) => {
        const forms = ['NFC', 'NFD'].map((form) => outcome(parseNickname(requested.normalize(form as 'NFC' | 'NFD'))));
        assert.equal(forms[0], forms[1]);
      }),
      params,
    );
  });
});

describe('the nickname rule, by example', () => {
  const both = (name: string) => [
    parseClientText(`/nick ${name}`),
    parseClientFrameV2(JSON.stringify({ type: 'nick', nickname: name, ref: 'r1' })),
  ];
  const nicknameOf = (result: ParseResult) => (result.ok && result.command.type === 'nick' ? result.command.nickname : undefined);

  it('refuses bidi overrides, isolates and zero-width characters in both protocols', () => {
    for (const name of [
      'ad\u202ea',
      'ada\u2066',
      '\u2069ada',
      'a\u200bda',
      'ada\u200d',
      'ad\u2060a',
      'a\u200fda',
      'ad\u0007a',
      '\u200b',
      '\ufeffada',
      'ad\ufeffa',
    ]) {
      for (const result of both(name)) assert.equal(!result.ok && result.error.code, ErrorCode.NICK_INVALID, JSON.stringify(name));
    }
  });

  it('refuses what renders as nothing, and letters that pass for others, in both protocols', () => {
    // The look-alikes of `alice` an abuse report found accepted, and the blank names (issue 20).
    const invisible = ['\u00ad', '\u034f', '\ufe0f', '\ufe00', '\u2062', '\u{e0041}', '\u180e', '\u115f', '\uffa0', '\u17b4'];
    for (const name of [
      ...invisible.map((c) => `alice${c}`),
      ...invisible.map((c) => `ali${c}ce`),
      '\u1d00lice',
      '\u0299ob',
      '\u3164',
      '\u2800',
      '\u1160',
      'ada\u{e0100}',
      'ada\u{f8ff}',
      '\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}',
    ]) {
      for (const result of both(name)) assert.equal(!result.ok && result.error.code, ErrorCode.NICK_INVALID, JSON.stringify(name));
    }
  });

  it('accepts names in every script, and emoji with their own selectors, joiners and skin tones', () => {
    for (const name of [
      'Fran\u00e7ois',
      '\u0141ukasz',
      '\u018fliyev',
      '\u0256\u025bla',
      '\u0410\u043b\u0451\u043d\u0430',
      '\u039d\u03af\u03ba\u03bf\u03c2',
      '\u674e\u5c0f\u9f8d',
      '\u3055\u304f\u3089\u30fc',
      '\uae40\ubbfc\uc900',
      '\u0645\u062d\u0645\u062f',
      '\u05d3\u05d5\u05d3',
      '\u0915\u0943\u0937\u094d\u0923',
      '\u2764\ufe0f',
      'ana\u2764\ufe0f',
      '\u263a\ufe0e',
      '\u{1f469}\u200d\u{1f4bb}',
      '\u{1f44d}\u{1f3fd}',
      '\u{1f3f3}\ufe0f\u200d\u{1f308}',
      '\u{1f1eb}\u{1f1f7}',
      '1\ufe0f\u20e3',
    ]) {
      for (const result of both(name)) assert.equal(nicknameOf(result), name, JSON.stringify(name));
    }
    for (const name of ['ana\u200d\u2764', '\u2764\u200d', 'a\ufe0f\u20e3']) {
      for (const result of both(name)) assert.equal(!result.ok && result.error.code, ErrorCode.NICK_INVALID, JSON.stringify(name));
    }
  });

  it('normalizes to NFC before counting, so a decomposed name of 32 letters fits', () => {
    const decomposed = 'e\u0301'.repeat(MAX_NICKNAME_LENGTH);
    for (const result of both(decomposed)) {
      assert.equal(nicknameOf(result), '\u00e9'.repeat(MAX_NICKNAME_LENGTH));
    }
  });

  it('takes the first word in v2 as in the seed protocol', () => {
    for (const result of both('  ada lovelace ')) assert.equal(nicknameOf(result), 'ada');
  });

  it('names a frame type it does not know briefly, whatever the type holds', () => {
    const deep = `{"type":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const result = parseClientFrameV2(deep);
    assert.equal(!result.ok && result.error.message, 'Unknown frame type (an array).');
    const long = parseClientFrameV2(JSON.stringify({ type: 'x'.repeat(10_000) }));
    assert.ok(!long.ok && long.error.message.length < LONGEST_REFUSAL);
    const sly = parseClientFrameV2('{"type":{"toString":"not a function"}}');
    assert.equal(!sly.ok && sly.error.message, 'Unknown frame type (an object).');
  });
});

/**
 * Whether the selector or joiner at codePoints[i] belongs to an emoji: a selector
 * after a pictograph, a skin tone or another selector, or in a keycap (`1️⃣`);
 * a joiner between two pictographs (each perhaps with its selectors and tone).
 */
function partOfEmoji(codePoints: readonly number[], i: number): boolean {
  const isPictograph = (cp: number | undefined) => cp !== undefined && /\p{Extended_Pictographic}/u.test(String.fromCodePoint(cp));
  const isTone = (cp: number | undefined) => cp !== undefined && cp >= 0x1f3fb && cp <= 0x1f3ff;
  const isSelector = (cp: number | undefined) => cp === 0xfe0e || cp === 0xfe0f;
  let start = i - 1;
  while (isSelector(codePoints[start]) || isTone(codePoints[start])) start--;
  const afterPictograph = isPictograph(codePoints[start]);
  if (codePoints[i] === 0x200d) return afterPictograph && isPictograph(codePoints[i + 1]);
  const keycap = codePoints[i] === 0xfe0f && /[#*0-9]/.test(String.fromCodePoint(codePoints[i - 1] ?? 0)) && codePoints[i + 1] === 0x20e3;
  return afterPictograph || keycap;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

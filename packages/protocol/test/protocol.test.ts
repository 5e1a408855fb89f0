import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ERROR_SENTENCES,
  ErrorCode,
  MAX_NICKNAME_LENGTH,
  ProtocolError,
  RateLimitedDetail,
  advance,
  encodeServerFrame,
  errorFrame,
  errorInfo,
  isBroadcastEvent,
  rateLimited,
  nickChangedText,
  parseClientText,
  parseServerFrame,
  type ErrorFrame,
} from '@switchboard/protocol';

describe('parseClientText', () => {
  it('treats plain text as a chat line, unchanged', () => {
    assert.deepEqual(parseClientText('  hello <b>world</b> '), {
      ok: true,
      command: { type: 'message', message: '  hello <b>world</b> ' },
    });
  });

  it('reads /nick NAME as a rename to the first word, as the seed does', () => {
    assert.deepEqual(parseClientText('/nick alice'), { ok: true, command: { type: 'nick', nickname: 'alice' } });
    assert.deepEqual(parseClientText('/nick   bob smith'), { ok: true, command: { type: 'nick', nickname: 'bob' } });
    assert.deepEqual(parseClientText('/nick\tcarol'), { ok: true, command: { type: 'nick', nickname: 'carol' } });
  });

  it('refuses /nick without a name with NICK_REQUIRED', () => {
    for (const text of ['/nick', '/nick ', '/nick    ']) {
      const result = parseClientText(text);
      assert.equal(result.ok, false, text);
      assert.equal(!result.ok && result.error.code, ErrorCode.NICK_REQUIRED);
    }
  });

  it('refuses a nickname longer than MAX_NICKNAME_LENGTH characters', () => {
    const ok = parseClientText(`/nick ${'é'.repeat(MAX_NICKNAME_LENGTH)}`);
    assert.equal(ok.ok, true);
    const tooLong = parseClientText(`/nick ${'a'.repeat(MAX_NICKNAME_LENGTH + 1)}`);
    assert.equal(!tooLong.ok && tooLong.error.code, ErrorCode.NICK_TOO_LONG);
  });

  it('refuses a nickname with control characters', () => {
    const result = parseClientText('/nick bad\u0007name');
    assert.equal(!result.ok && result.error.code, ErrorCode.NICK_INVALID);
  });

  it('refuses words that only start with a command, and other slash words, with UNKNOWN_COMMAND naming them', () => {
    for (const [text, word] of [
      ['/nickname x', '/nickname'],
      ['/me waves', '/me'],
      ['/bogus', '/bogus'],
      ['/joined', '/joined'],
      ['/Help me', '/Help'],
    ] as const) {
      const result = parseClientText(text);
      assert.equal(!result.ok && result.error.code, ErrorCode.UNKNOWN_COMMAND, text);
      assert.match(!result.ok ? result.error.message : '', new RegExp(`^Unknown command ${word}:`), text);
    }
  });

  it('reads /help as the help command, whatever follows it', () => {
    assert.deepEqual(parseClientText('/help'), { ok: true, command: { type: 'help' } });
    assert.deepEqual(parseClientText('/help me please'), { ok: true, command: { type: 'help' } });
  });

  it('treats a slash not followed by a letter as the start of a chat line', () => {
    for (const text of ['/ hi', '//', '/3 is a number', '/:)', 'a /bogus inside']) {
      assert.deepEqual(parseClientText(text), { ok: true, command: { type: 'message', message: text } }, text);
    }
  });

  it('takes the whole rest of /join as the room, spaces made -, lower-cased, a leading # dropped', () => {
    assert.deepEqual(parseClientText('/join Dev Room'), { ok: true, command: { type: 'join', room: 'dev-room' } });
    assert.deepEqual(parseClientText('/join  #Dev  '), { ok: true, command: { type: 'join', room: 'dev' } });
    assert.deepEqual(parseClientText('/join # team   a'), { ok: true, command: { type: 'join', room: 'team-a' } });
    const bad = parseClientText('/join café');
    assert.equal(!bad.ok && bad.error.code, ErrorCode.ROOM_INVALID);
    assert.match(!bad.ok ? bad.error.message : '', /a-z, 0-9, - and _/);
  });

  it('refuses empty and whitespace-only lines with EMPTY_MESSAGE', () => {
    for (const text of ['', '   ', '\n\t']) {
      const result = parseClientText(text);
      assert.equal(!result.ok && result.error.code, ErrorCode.EMPTY_MESSAGE, JSON.stringify(text));
    }
  });
});

describe('server frames', () => {
  it('round-trips every frame type through encode and parse', () => {
    const frames = [
      { room: 'lobby', seq: 1, epoch: 'e', type: 'message', id: 'a', nickname: 'n', message: 'hi', time: 1 },
      {
        room: 'lobby',
        seq: 2,
        epoch: 'e',
        type: 'notification',
        id: 'a',
        nickname: 'n',
        message: 'n has connected',
        event: 'connected',
        time: 1,
      },
      {
        room: 'lobby',
        seq: 3,
        epoch: 'e',
        type: 'nick_update',
        id: 'a',
        nickname: 'm',
        message: nickChangedText('n', 'm'),
        previous: 'n',
        time: 1,
        ref: 'r',
      },
      { type: 'welcome', id: 'a', nickname: 'n', message: 'Welcome', node: 'node-1', epoch: 'e', seq: 0, session: 's', resumed: false },
      { type: 'error', id: 'a', nickname: 'n', message: 'no', code: ErrorCode.NICK_REQUIRED, ref: 'r' },
      { type: 'ack', id: 'a', nickname: 'n', message: 'Already sent', ref: 'r', room: 'lobby', seq: 3, epoch: 'e' },
      { type: 'joined', id: 'a', nickname: 'n', message: 'You are in #dev.', room: 'dev', epoch: 'f', seq: 7, ref: 'r' },
      {
        type: 'members',
        id: 'a',
        nickname: 'n',
        message: '1 person in #dev: n',
        room: 'dev',
        members: [{ id: 'a', nickname: 'n' }],
        count: 1,
      },
      { type: 'rooms', id: 'a', nickname: 'n', message: 'Rooms: #dev (1)', rooms: [{ room: 'dev', count: 1 }] },
    ] as const;
    for (const frame of frames) assert.deepEqual(parseServerFrame(encodeServerFrame(frame)), frame);
  });

  it('words a nick change exactly as the seed does', () => {
    assert.equal(nickChangedText('AnonymousUser1', 'bob'), 'Client AnonymousUser1 changed to bob');
  });

  it('rejects text that is not a frame with a ProtocolError', () => {
    assert.throws(() => parseServerFrame('not json'), ProtocolError);
    assert.throws(() => parseServerFrame('[]'), ProtocolError);
    assert.throws(() => parseServerFrame('{"type":"bogus","id":"a","nickname":"n","message":"m"}'), ProtocolError);
    assert.throws(() => parseServerFrame('{"type":"message","id":"a","nickname":"n"}'), /message/);
  });

  it('builds a RATE_LIMITED refusal with a whole, positive retry hint, and reads it back', () => {
    const frame = errorFrame({ id: 'a', nickname: 'n' }, rateLimited(12.2, RateLimitedDetail.JOIN), 'r');
    assert.deepEqual(frame, {
      type: 'error',
      id: 'a',
      nickname: 'n',
      code: ErrorCode.RATE_LIMITED,
      message: RateLimitedDetail.JOIN,
      retryAfterMs: 13,
      ref: 'r',
    });
    assert.equal(rateLimited(0).retryAfterMs, 1, 'never "now": at least 1 ms');
    assert.equal(rateLimited(5).message, ERROR_SENTENCES.RATE_LIMITED);
    assert.deepEqual(parseServerFrame(encodeServerFrame(frame)), frame);
    assert.equal(
      'retryAfterMs' in errorFrame({ id: 'a', nickname: 'n' }, errorInfo(ErrorCode.NICK_TAKEN)),
      false,
      'only when there is one',
    );
  });

  it('refuses an error frame whose retry hint is not a whole number of ms', () => {
    const error = (hint: unknown) =>
      JSON.stringify({ type: 'error', id: 'a', nickname: 'n', message: 'm', code: 'RATE_LIMITED', retryAfterMs: hint });
    for (const bad of [-1, 1.5, '100', null, Number.MAX_SAFE_INTEGER + 2]) {
      assert.throws(() => parseServerFrame(error(bad)), /retryAfterMs/, JSON.stringify(bad));
    }
    assert.equal((parseServerFrame(error(0)) as ErrorFrame).retryAfterMs, 0);
  });

  it('tells broadcast events from frames meant for one client', () => {
    assert.equal(isBroadcastEvent(parseServerFrame('{"type":"message","id":"a","nickname":"n","message":"m"}')), true);
    assert.equal(isBroadcastEvent(parseServerFrame('{"type":"welcome","id":"a","nickname":"n","message":"m"}')), false);
  });
});

describe('protocol v2 client frames', () => {
  it('reads a hello, with or without a position to resume from', async () => {
    const { parseHello } = await import('@switchboard/protocol');
    assert.deepEqual(parseHello('{"type":"hello"}'), { ok: true, hello: { type: 'hello' } });
    assert.deepEqual(parseHello('{"type":"hello","session":"s","since":4,"epoch":"e"}'), {
      ok: true,
      hello: { type: 'hello', session: 's', since: 4, epoch: 'e' },
    });
    for (const bad of ['hello', '{"type":"message"}', '{"type":"hello","since":-1}', '{"type":"hello","session":5}']) {
      assert.equal(parseHello(bad).ok, false, bad);
    }
  });

  it('reads messages and renames with their ref, and refuses bad ones keeping the ref', async () => {
    const { parseClientFrameV2 } = await import('@switchboard/protocol');
    assert.deepEqual(parseClientFrameV2('{"type":"message","message":"hi","ref":"r1"}'), {
      ok: true,
      command: { type: 'message', message: 'hi', ref: 'r1' },
    });
    assert.deepEqual(parseClientFrameV2('{"type":"nick","nickname":" ada ","ref":"r2"}'), {
      ok: true,
      command: { type: 'nick', nickname: 'ada', ref: 'r2' },
    });
    const empty = parseClientFrameV2('{"type":"message","message":"  ","ref":"r3"}');
    assert.equal(!empty.ok && empty.error.code, ErrorCode.EMPTY_MESSAGE);
    assert.equal(!empty.ok && empty.ref, 'r3');
    const unknown = parseClientFrameV2('{"type":"shout","ref":"r4"}');
    assert.equal(!unknown.ok && unknown.error.code, ErrorCode.BAD_FRAME);
    assert.equal(!unknown.ok && unknown.ref, 'r4');
    assert.equal(parseClientFrameV2('{"type":"message","message":"x","ref":""}').ok, false);
    assert.equal(parseClientFrameV2(`{"type":"message","message":"x","ref":"${'r'.repeat(65)}"}`).ok, false);
    assert.equal(parseClientFrameV2('not json').ok, false);
  });
});

describe('advance', () => {
  const at = { epoch: 'e1', seq: 5 };

  it('takes the first event, and the one right after the last, as the next', () => {
    assert.deepEqual(advance(undefined, { epoch: 'e1', seq: 9 }), { kind: 'next' });
    assert.deepEqual(advance(at, { epoch: 'e1', seq: 6 }), { kind: 'next' });
  });

  it('calls an event at or below the last a duplicate', () => {
    assert.deepEqual(advance(at, { epoch: 'e1', seq: 5 }), { kind: 'duplicate' });
    assert.deepEqual(advance(at, { epoch: 'e1', seq: 1 }), { kind: 'duplicate' });
  });

  it('names the events skipped by a later one', () => {
    assert.deepEqual(advance(at, { epoch: 'e1', seq: 9 }), { kind: 'gap', from: 6, to: 8 });
  });

  it('starts over on another epoch, whatever the seq', () => {
    assert.deepEqual(advance(at, { epoch: 'e2', seq: 1 }), { kind: 'epoch', previous: 'e1' });
    assert.deepEqual(advance(at, { epoch: 'e2', seq: 6 }), { kind: 'epoch', previous: 'e1' });
  });
});

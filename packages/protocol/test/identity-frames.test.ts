import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, TERMINAL_CLOSE_CODES, parseClientFrameV2, parseClientText, parseHello } from '../src/index.js';

describe('identity on the wire', () => {
  it('parses a v2 refresh frame, and refuses one without a token', () => {
    assert.deepEqual(parseClientFrameV2('{"type":"refresh","token":"a.b.c","ref":"r1"}'), {
      ok: true,
      command: { type: 'refresh', token: 'a.b.c', ref: 'r1' },
    });
    const bad = parseClientFrameV2('{"type":"refresh","token":"","ref":"r2"}');
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, ErrorCode.BAD_FRAME);
    assert.equal(bad.ref, 'r2');
  });

  it('parses /refresh TOKEN as a refresh, and /refresh alone as TOKEN_INVALID', () => {
    assert.deepEqual(parseClientText('/refresh a.b.c'), { ok: true, command: { type: 'refresh', token: 'a.b.c' } });
    const alone = parseClientText('/refresh');
    assert.ok(!alone.ok);
    assert.equal(alone.error.code, ErrorCode.TOKEN_INVALID);
    assert.equal((parseClientText('/refreshments please') as { ok: false; error: { code: string } }).error.code, ErrorCode.UNKNOWN_COMMAND);
  });

  it('takes a token in hello, and refuses one that is not a non-empty string', () => {
    assert.deepEqual(parseHello('{"type":"hello","token":"a.b.c"}'), { ok: true, hello: { type: 'hello', token: 'a.b.c' } });
    assert.ok(!parseHello('{"type":"hello","token":42}').ok);
    assert.ok(!parseHello('{"type":"hello","token":""}').ok);
  });

  it('has the close codes of identity, and a backend disconnect is terminal', () => {
    assert.equal(CloseCode.TOKEN_EXPIRED, 4010);
    assert.equal(CloseCode.DISCONNECTED_BY_SERVER, 4011);
    assert.equal(CloseCode.TOKEN_INVALID, 4012);
    assert.ok(TERMINAL_CLOSE_CODES.has(CloseCode.DISCONNECTED_BY_SERVER));
    assert.ok(!TERMINAL_CLOSE_CODES.has(CloseCode.TOKEN_EXPIRED), 'a client reconnects with a new token');
  });
});

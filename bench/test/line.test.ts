import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeLine, nowUs, readLine, type LineStamp } from '../src/generator/line.js';

describe('bench lines', () => {
  it('are exactly the asked size and read back to their phase, send time and room', () => {
    const line = makeLine(2, 1_234_567_890.6, 41, 64, 37);
    assert.equal(line.length, 64);
    const stamp: LineStamp = { phase: 0, sentUs: 0, room: 0 };
    assert.equal(readLine(line, 0, stamp), true);
    assert.deepEqual(stamp, { phase: 2, sentUs: 1_234_567_891, room: 37 });
  });

  it('are in room 0 when no room is given', () => {
    const stamp: LineStamp = { phase: 0, sentUs: 0, room: 9 };
    assert.equal(readLine(makeLine(1, 5, 0, 32), 0, stamp), true);
    assert.equal(stamp.room, 0);
  });

  it('read the same from the bytes of a JSON frame as from a string', () => {
    const line = makeLine(3, 42, 0, 32, 4);
    const frame = Buffer.from(JSON.stringify({ type: 'message', message: line }));
    const at = frame.indexOf('"message":"') + '"message":"'.length;
    const stamp: LineStamp = { phase: 0, sentUs: 0, room: 0 };
    assert.equal(readLine(frame, at, stamp), true);
    assert.deepEqual(stamp, { phase: 3, sentUs: 42, room: 4 });
  });

  it('are not confused with other text', () => {
    const stamp: LineStamp = { phase: 0, sentUs: 0, room: 0 };
    for (const text of ['AnonymousUser1 has connected', '~', '~1~', '~a~2~', '~1~2x', '~1~2~', '~1~2~x~'])
      assert.equal(readLine(text, 0, stamp), false, text);
  });

  it('carry a clock that does not go backwards', () => {
    const a = nowUs();
    const b = nowUs();
    assert.ok(b >= a);
  });
});

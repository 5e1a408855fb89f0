import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError, encodeServerFrame, joinServerFrames, parseServerFrames, type ServerFrame } from '@switchboard/protocol';

const welcome: ServerFrame = {
  type: 'welcome',
  id: 'a',
  nickname: 'n',
  message: 'Welcome, n!',
  node: 'gw-1',
  epoch: 'e',
  seq: 4,
  session: 's',
  resumed: true,
};
const line = (seq: number, message: string): ServerFrame => ({
  type: 'message',
  room: 'lobby',
  id: 'b',
  nickname: 'bob',
  message,
  time: 1,
  seq,
  epoch: 'e',
});

describe('server frame batches (protocol v2)', () => {
  it('reads one frame without a newline as a batch of one', () => {
    assert.deepEqual(parseServerFrames(encodeServerFrame(line(5, 'hi'))), [line(5, 'hi')]);
  });

  it('reads every line of a batch as one frame, in the order sent', () => {
    const frames = [welcome, line(5, 'first'), line(6, 'second'), line(7, 'third')];
    assert.deepEqual(parseServerFrames(joinServerFrames(frames.map(encodeServerFrame))), frames);
  });

  it('keeps newlines inside a message, which JSON escapes, as part of the message', () => {
    const multiline = line(5, 'two\nlines\r\nand \u2028 more');
    const text = joinServerFrames([encodeServerFrame(multiline), encodeServerFrame(line(6, 'next'))]);
    assert.equal(text.split('\n').length, 2, 'an escaped newline is not a separator');
    assert.deepEqual(parseServerFrames(text), [multiline, line(6, 'next')]);
  });

  it('refuses the whole batch when any line is not a valid frame, naming the line', () => {
    const good = encodeServerFrame(line(5, 'ok'));
    assert.throws(() => parseServerFrames(`${good}\nnot json`), /batch line 2/);
    assert.throws(
      () => parseServerFrames(`${good}\n{"type":"bogus","id":"a","nickname":"n","message":"m"}`),
      /batch line 2: unknown server frame type: bogus/,
    );
    assert.throws(() => parseServerFrames(`${good}\n{"type":"message","id":"a","nickname":"n"}`), /batch line 2: .*"message"/);
    assert.throws(() => parseServerFrames(`{"type":"message"\n,"id":"a","nickname":"n","message":"m"}`), ProtocolError);
  });

  it('has one form only: no empty line, no trailing newline, no carriage return, no padding', () => {
    const good = encodeServerFrame(line(5, 'ok'));
    for (const text of ['', `${good}\n`, `\n${good}`, `${good}\n\n${good}`, `${good}\r\n${good}`, ` ${good}`, `${good} `, '[]', '"text"']) {
      assert.throws(() => parseServerFrames(text), ProtocolError, JSON.stringify(text));
    }
    assert.throws(() => parseServerFrames(`${good}\n`), /batch line 2: empty line/);
  });

  it('refuses to join nothing', () => {
    assert.throws(() => joinServerFrames([]), /a batch needs at least one frame/);
  });
});

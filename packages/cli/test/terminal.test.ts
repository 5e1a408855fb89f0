import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EPOCH, LIMITS, WAIT_MS, quit, terminal } from './fake-terminal.js';

describe('switchboard client rendering, on a fake gateway', () => {
  const tz = process.env.TZ;
  before(() => {
    process.env.TZ = 'UTC'; // times print in local time: make "local" UTC for the test
  });
  after(() => {
    process.env.TZ = tz;
  });

  it('prints chat lines with time and nick on stdout, notices and renames as "* ...", status on stderr', async () => {
    const t = terminal();
    await t.err.waitFor((l) => l === '* connected to node gw-fake as ada', WAIT_MS, 'the connected status');
    t.server.broadcast({ type: 'message', id: 'b', nickname: 'bob', message: 'hi ada' });
    t.server.broadcast({ type: 'notification', id: 'c', nickname: 'cy', message: 'cy has connected', event: 'connected' });
    t.server.broadcast({ type: 'nick_update', id: 'b', nickname: 'rob', previous: 'bob', message: 'Client bob changed to rob' });
    await t.out.waitFor((l) => l.includes('changed to rob'), WAIT_MS, 'the rename');
    assert.deepEqual(t.out.items, ['[12:03:04] <bob> hi ada', '[12:03:04] * cy has connected', '[12:03:04] * Client bob changed to rob']);
    assert.equal(await quit(t), 0);
  });

  it('shows control characters from others as \uFFFD, in names, lines and status, and markup as typed', async () => {
    const t = terminal();
    await t.err.waitFor((l) => l.startsWith('* connected'), WAIT_MS, 'the connected status');
    t.server.broadcast({
      type: 'message',
      id: 'b',
      nickname: 'b\x1b[31mob',
      message: 'clear \x1b[2J bell \x07 rtl \u202e <b>bold</b>\r\nnext',
    });
    const line = await t.out.waitFor((l) => l.includes('clear'), WAIT_MS, "bob's line");
    assert.equal(line, '[12:03:04] <b\uFFFD[31mob> clear \uFFFD[2J bell \uFFFD rtl \uFFFD <b>bold</b>\uFFFD\uFFFDnext');
    t.server.socket.frame({ type: 'error', id: 'id-ada', nickname: 'ada', code: 'NICK_INVALID', message: 'bad \x1b name' });
    await t.err.waitFor((l) => l === '! bad \uFFFD name', WAIT_MS, 'the defused error');
    assert.equal(await quit(t), 0);
  });

  it('refuses a line over the limit the gateway announced with a message on stderr, and keeps going', async () => {
    const t = terminal();
    await t.err.waitFor((l) => l.startsWith('* connected'), WAIT_MS, 'the connected status');
    t.input.write(`${'x'.repeat(LIMITS.maxMessageBytes)}\n`);
    await t.err.waitFor((l) => l.startsWith('! Too long:'), WAIT_MS, 'the refusal');
    assert.match(
      t.err.items.find((l) => l.startsWith('! Too long:')) ?? '',
      new RegExp(`over the server's limit of ${LIMITS.maxMessageBytes}; nothing was sent`),
    );
    t.input.write('short and sweet\n'); // about 65 bytes as a v2 frame
    await t.out.waitFor((l) => l === '[12:03:04] <ada> short and sweet', WAIT_MS, 'the next line, echoed');
    assert.deepEqual(
      t.server.received().map((f) => f.message),
      ['short and sweet'],
      'only the line that fits was sent',
    );
    assert.equal(await quit(t), 0);
  });

  it('says so when events were skipped on a live connection', async () => {
    const t = terminal();
    await t.err.waitFor((l) => l.startsWith('* connected'), WAIT_MS, 'the connected status');
    t.server.broadcast({ type: 'message', id: 'b', nickname: 'bob', message: 'one' });
    t.server.socket.frame({ type: 'message', id: 'b', nickname: 'bob', message: 'far ahead', seq: 20, epoch: EPOCH, time: 0 });
    await t.err.waitFor((l) => l === '* you may have missed messages', WAIT_MS, 'the gap notice');
    assert.equal(t.out.items.at(-1), '[00:00:00] <bob> far ahead');
    assert.equal(await quit(t), 0);
  });
});

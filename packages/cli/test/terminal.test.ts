import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { linesOf } from '@switchboard/testkit';
import type { ClientLimits } from '@switchboard/protocol';
import { fakeWebSocket, type FakeSocket } from '../../client/test/fake-socket.js';
import { runTerminal, type TerminalSession } from '../src/terminal.js';

const WAIT_MS = 5_000;
const EPOCH = 'ep-1';
const LIMITS: ClientLimits = { maxMessageBytes: 100, messageRatePerSec: 20, messageBurst: 40, maxNicknameLength: 32 };

/**
 * The terminal client in this process, on a fake socket that answers as a v2
 * gateway would (welcome, echoes of its lines): what it prints, to which
 * stream, is the test's subject, not the network.
 */
function terminal() {
  const { WebSocket, sockets } = fakeWebSocket();
  const input = new PassThrough();
  const output = new PassThrough();
  const status = new PassThrough();
  const out = linesOf(output, (line) => line);
  const err = linesOf(status, (line) => line);
  const session = runTerminal({ url: 'ws://fake.test/ws', nickname: 'ada', WebSocket, input, output, status, interactive: false });
  const socket = sockets[0]!;
  let seq = 10;
  const server = {
    socket,
    /** A broadcast from the server, with the next seq. */
    broadcast(frame: Record<string, unknown>): void {
      seq += 1;
      socket.frame({ epoch: EPOCH, seq, time: Date.UTC(2026, 0, 1, 12, 3, 4), ...frame });
    },
    /** The frames the client sent after its hello, parsed. */
    received: (): Array<Record<string, unknown>> => socket.sentJson.slice(1),
  };
  serve(socket, (frame) => server.broadcast(frame));
  return { session, input, out, err, server };
}

/** Answer as a v2 gateway: welcome with LIMITS, echo each line and rename with its ref, close when asked. */
function serve(socket: FakeSocket, broadcast: (frame: Record<string, unknown>) => void): void {
  const send = socket.send.bind(socket);
  socket.send = (data: string) => {
    send(data);
    const frame = JSON.parse(data) as Record<string, unknown>;
    const me = { id: 'id-ada', nickname: 'ada' };
    if (frame.type === 'message') broadcast({ type: 'message', ...me, message: frame.message, ref: frame.ref });
    if (frame.type === 'nick') {
      broadcast({
        type: 'nick_update',
        ...me,
        nickname: frame.nickname,
        previous: 'ada',
        message: `Client ada changed to ${String(frame.nickname)}`,
        ref: frame.ref,
      });
    }
  };
  socket.close = (code?: number, reason?: string) => {
    socket.closedWith = { code, reason };
    queueMicrotask(() => socket.finishClose());
  };
  queueMicrotask(() => {
    socket.open('switchboard.v2');
    socket.frame({
      type: 'welcome',
      id: 'id-ada',
      nickname: 'ada',
      node: 'gw-fake',
      message: 'Welcome, ada!',
      session: 's',
      epoch: EPOCH,
      seq: 10,
      resumed: false,
      limits: LIMITS,
    });
  });
}

async function quit(t: { input: PassThrough; session: TerminalSession }): Promise<number> {
  t.input.end();
  return t.session.done;
}

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

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_SENTENCES } from '@switchboard/protocol';
import { NOON, WAIT_MS, quit, terminal } from './fake-terminal.js';

const bob = { id: 'id-bob', nickname: 'bob' };
/** A line printed at some time today: `[HH:MM:SS] ` and the rest. */
const at = (rest: string) => new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${rest.replace(/[[\]().*+?^$|\\]/g, '\\$&')}$`);

async function connected(t: ReturnType<typeof terminal>): Promise<void> {
  await t.err.waitFor((l) => l.startsWith('* connected to node'), WAIT_MS, 'the connected status');
}

describe('switchboard client in rooms, on a fake gateway', () => {
  const tz = process.env.TZ;
  before(() => {
    process.env.TZ = 'UTC';
  });
  after(() => {
    process.env.TZ = tz;
  });

  it('joins with /join: says where it is, prints the recent lines between separators, then the live ones', async () => {
    const t = terminal();
    await connected(t);
    t.server.roomOf('dev').people.push(bob);
    t.server.roomOf('dev').history = [
      { type: 'message', ...bob, message: 'said before', time: NOON - 3_600_000 },
      { type: 'message', ...bob, message: 'said just before', time: NOON - 60_000 },
    ];
    t.input.write('/join #Dev\n');
    await t.out.waitFor((l) => l.includes('said just before'), WAIT_MS, 'the recent lines');
    t.server.broadcast({ type: 'notification', id: 'id-cy', nickname: 'cy', message: 'cy has joined', event: 'joined' });
    t.server.broadcast({ type: 'message', ...bob, message: 'live now' });
    t.server.broadcast({ type: 'notification', ...bob, message: 'bob has left', event: 'left' });
    t.server.broadcast({
      type: 'notification',
      id: '',
      nickname: '',
      message: '12 people joined, 3 left',
      event: 'summary',
      joined: 12,
      left: 3,
    });
    await t.out.waitFor((l) => l.includes('12 people joined'), WAIT_MS, 'the summary');
    assert.deepEqual(t.server.received(), [{ type: 'join', room: 'dev', ref: t.server.received()[0]?.ref }]);
    const [joined, ...rest] = t.out.items;
    assert.match(joined ?? '', at('* you are in #dev'));
    assert.deepEqual(rest, [
      '-- earlier in #dev --',
      '[11:03:04] <bob> said before',
      '[12:02:04] <bob> said just before',
      '-- now --',
      '[12:03:04] * cy has joined #dev',
      '[12:03:04] <bob> live now',
      '[12:03:04] * bob has left #dev',
      '[12:03:04] * #dev: 12 people joined, 3 left',
    ]);
    assert.equal(await quit(t), 0);
  });

  it('prints the answers to /who and /rooms as short lists on stdout', async () => {
    const t = terminal();
    await connected(t);
    t.server.roomOf('lobby').people.push(bob, { id: 'id-x', nickname: 'x\x1b[31m' });
    t.server.roomOf('dev').people.push({ id: 'id-cy', nickname: 'cy' });
    t.input.write('/who\n/rooms\n');
    await t.out.waitFor((l) => l.includes('rooms:'), WAIT_MS, 'the rooms');
    assert.equal(t.out.items.length, 2);
    assert.match(t.out.items[0] ?? '', at('* 3 people in #lobby: ada, bob, x\uFFFD[31m'));
    assert.match(t.out.items[1] ?? '', at('* rooms: #lobby (3), #dev (1)'));
    assert.deepEqual(
      t.server.received().map((f) => f.type),
      ['who', 'rooms'],
      'typed requests, not chat lines',
    );
    assert.equal(await quit(t), 0);
  });

  it('says on stderr why a join or a rename was refused: a bad room name, no room for a new room, a taken name', async () => {
    const t = terminal();
    await connected(t);
    t.input.write('/join ???\n');
    await t.err.waitFor((l) => l === `! ${ERROR_SENTENCES.ROOM_INVALID}`, WAIT_MS, 'the refusal of a bad name');
    t.server.refusal = { code: 'ROOM_LIMIT', message: ERROR_SENTENCES.ROOM_LIMIT };
    t.input.write('/join one-too-many\n');
    await t.err.waitFor((l) => l === `! ${ERROR_SENTENCES.ROOM_LIMIT}`, WAIT_MS, 'the refusal of a new room');
    t.server.refusal = { code: 'NICK_TAKEN', message: ERROR_SENTENCES.NICK_TAKEN };
    t.input.write('/nick Bob\n');
    await t.err.waitFor((l) => l === `! ${ERROR_SENTENCES.NICK_TAKEN}`, WAIT_MS, 'the refusal of a taken name');
    t.input.write('still here\n');
    await t.out.waitFor((l) => l.endsWith('<ada> still here'), WAIT_MS, 'the next line');
    assert.deepEqual(
      t.server.received().map((f) => [f.type, f.room ?? f.nickname ?? f.message]),
      [
        ['join', 'one-too-many'],
        ['nick', 'Bob'],
        ['message', 'still here'],
      ],
      'the bad name was never sent',
    );
    assert.equal(await quit(t), 0);
  });
});

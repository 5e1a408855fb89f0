import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_SENTENCES } from '@switchboard/protocol';
import { ChatClient, GatewayProcess } from '@switchboard/testkit';
import { runCli } from './run-cli.js';

const WAIT_MS = 15_000;
/** `[HH:MM:SS] ` then `rest`, exactly. */
const at = (rest: string) => new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${rest.replace(/[[\]().*+?^$|\\#]/g, '\\$&')}$`);

/**
 * `switchboard client` in rooms, through a pipe, against a real gateway: /join
 * with the room's recent lines set apart, presence notices naming the room,
 * /who and /rooms, and a taken name. (Needs the gateway's side of rooms.)
 */
describe('switchboard client in rooms, driven through a pipe against a real gateway', () => {
  let node: GatewayProcess;
  let bob: ChatClient;

  before(async () => {
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'cli-rooms' } });
    bob = await ChatClient.connect(node.wsUrl);
    bob.send('/nick bobby');
    await bob.waitFor((f) => f.type === 'nick_update' && f.nickname === 'bobby', "bob's rename");
    bob.send('/join terminal');
    await bob.waitFor((f) => f.type === 'joined' && f.room === 'terminal', "bob's join");
    bob.send('said before ivy came');
    await bob.waitForMessage('message', 'said before ivy came');
  });

  after(async () => {
    await bob?.close();
    await node?.kill();
  });

  it('joins with /join: the recent lines between separators, then live lines and notices naming the room', async () => {
    const cli = runCli(['client', 'ivy', '--url', node.wsUrl]);
    try {
      await cli.out.waitFor((l) => / \* Client \S+ changed to ivy$/.test(l), WAIT_MS, 'her name');
      cli.child.stdin.write('/join #Terminal\n');
      await cli.out.waitFor((l) => at('* you are in #terminal').test(l), WAIT_MS, 'the join');
      await cli.out.waitFor((l) => l === '-- earlier in #terminal --', WAIT_MS, 'the history separator');
      await cli.out.waitFor((l) => at('<bobby> said before ivy came').test(l), WAIT_MS, 'the recent line');
      await bob.waitFor((f) => f.type === 'notification' && f.event === 'joined' && f.nickname === 'ivy', "ivy's join, as bob hears it");
      bob.send('said after ivy came');
      await cli.out.waitFor((l) => at('<bobby> said after ivy came').test(l), WAIT_MS, 'the live line');
      const items = cli.out.items;
      const earlier = items.indexOf('-- earlier in #terminal --');
      const now = items.indexOf('-- now --');
      const recent = items.findIndex((l) => l.endsWith('said before ivy came'));
      const live = items.findIndex((l) => l.endsWith('said after ivy came'));
      assert.ok(earlier < recent && recent < now && now < live, `separators around the recent lines: ${JSON.stringify(items)}`);

      cli.child.stdin.write('/who\n/rooms\n');
      const who = await cli.out.waitFor((l) => / \* 2 people in #terminal: /.test(l), WAIT_MS, 'the answer to /who');
      assert.deepEqual(who.replace(/^.*: /, '').split(', ').sort(), ['bobby', 'ivy']);
      await cli.out.waitFor((l) => / \* rooms: .*#terminal \(2\)/.test(l), WAIT_MS, 'the answer to /rooms');

      bob.send('/join lobby');
      await cli.out.waitFor((l) => at('* bobby has left #terminal').test(l), WAIT_MS, "bob's leave");
      cli.child.stdin.end();
      assert.equal(await cli.exit, 0);
    } finally {
      cli.child.kill();
    }
  });

  it('says on stderr that a name is taken, whatever its case, and keeps the one it has', async () => {
    const cli = runCli(['client', 'BOBBY', '--url', node.wsUrl]);
    try {
      await cli.err.waitFor((l) => l === `! ${ERROR_SENTENCES.NICK_TAKEN}`, WAIT_MS, 'the refusal of a taken name');
      cli.child.stdin.write('/join !!\n');
      await cli.err.waitFor((l) => l === `! ${ERROR_SENTENCES.ROOM_INVALID}`, WAIT_MS, 'the refusal of a bad room name');
      cli.child.stdin.write('still chatting\n');
      await cli.out.waitFor((l) => /<AnonymousUser\d+> still chatting$/.test(l), WAIT_MS, 'her line, under the name she has');
      cli.child.stdin.end();
      assert.equal(await cli.exit, 0);
    } finally {
      cli.child.kill();
    }
  });
});

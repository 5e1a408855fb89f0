import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { ErrorCode } from '@switchboard/protocol';
import { GatewayProcess, watch } from '@switchboard/testkit';
import { ClientError, SwitchboardClient, type ClientEvents, type ClientOptions } from '../src/index.js';

/** The gateway's settings under test; every expectation below is derived from them. */
const SETTINGS = { MAX_MESSAGE_BYTES: '256', MESSAGE_RATE_PER_SEC: '40', MESSAGE_BURST: '40' };
const MAX_BYTES = Number(SETTINGS.MAX_MESSAGE_BYTES);
const WAIT_MS = 20_000;

/** The SDK against a real gateway whose limits are not the defaults: it learns them from welcome. */
describe('SwitchboardClient against a gateway with its own limits', () => {
  let node: GatewayProcess;
  const clients: SwitchboardClient[] = [];

  const client = (options: Partial<ClientOptions> = {}) => {
    const c = new SwitchboardClient({ url: node.wsUrl, WebSocket, ...options });
    clients.push(c);
    const events = watch<ClientEvents>(c);
    return Object.assign(c, {
      watcher: events,
      messages: events.record('message'),
      errors: events.record('error'),
      closes: events.record('close'),
    });
  };

  before(async () => {
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'limits-node', ...SETTINGS } });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node?.kill();
  });

  for (const protocol of ['v2', 'v1'] as const) {
    it(`refuses a line over MAX_MESSAGE_BYTES locally and stays connected, able to chat (${protocol})`, async () => {
      const ada = client({ protocol });
      const bob = client();
      await ada.connect();
      await bob.connect();
      assert.deepEqual(ada.limits, {
        maxMessageBytes: MAX_BYTES,
        messageRatePerSec: Number(SETTINGS.MESSAGE_RATE_PER_SEC),
        messageBurst: Number(SETTINGS.MESSAGE_BURST),
        maxNicknameLength: ada.limits.maxNicknameLength,
      });

      const tooBig = 'x'.repeat(MAX_BYTES + 44);
      assert.throws(
        () => ada.send(tooBig),
        (err: ClientError) => err.code === 'MESSAGE_TOO_BIG',
      );
      // The largest line that fits: the whole raw text in v1, the text less the JSON around it in v2.
      let longest = 'y'.repeat(MAX_BYTES);
      while (ada.frameBytes(longest) > MAX_BYTES) longest = longest.slice(1);
      assert.equal(ada.frameBytes(longest), MAX_BYTES);
      if (protocol === 'v2')
        assert.throws(
          () => ada.send(`${longest}y`),
          (err: ClientError) => err.code === 'MESSAGE_TOO_BIG',
        );

      const heard = bob.watcher.next('message', (m) => m.message === longest, WAIT_MS, 'the longest line that fits');
      await ada.send(longest);
      await heard;
      const after = bob.watcher.next('message', (m) => m.message === `${protocol} still chatting`, WAIT_MS, 'a line after the refusal');
      await ada.send(`${protocol} still chatting`);
      await after;
      assert.equal(ada.state, 'open');
      assert.equal(ada.closes.items.length, 0, 'the gateway never closed the connection');
    });
  }

  it('paces a burst of lines to the announced rate: every one broadcast in order, none refused as too fast', async () => {
    const cy = client();
    await cy.connect();
    const count = 2 * Number(SETTINGS.MESSAGE_BURST);
    const sent = Array.from({ length: count }, (_, i) => cy.send(`paced ${i}`));
    const acks = await Promise.all(sent);
    const seqs = acks.map((a) => a?.seq ?? 0);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'broadcast in the order sent',
    );
    assert.deepEqual(
      cy.errors.items.filter((e) => e.code === ErrorCode.RATE_LIMITED),
      [],
      'no RATE_LIMITED from the gateway',
    );
    await cy.messages.waitFor((m) => m.message === `paced ${count - 1}`, WAIT_MS, 'the last paced line');
  });
});

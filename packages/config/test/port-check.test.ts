import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { busyPortSentence } from '../src/port-check.js';

const CLUSTER = 'npm run cluster';

const LB = { host: '127.0.0.1', setting: 'LB_PORT', hostSetting: 'LB_HOST' };

describe('the check of the ports a command will listen on, before it starts anything (npm run cluster, npm start)', () => {
  let holder: Server;
  let held: number;

  before(async () => {
    holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    held = (holder.address() as AddressInfo).port;
  });

  after(() => {
    holder?.close();
  });

  it('says in one sentence that a port is in use, naming its setting and a free port to try', async () => {
    const sentence = await busyPortSentence([{ ...LB, port: held }], CLUSTER);
    assert.match(
      sentence ?? '',
      new RegExp(
        `^port ${held} of 127\\.0\\.0\\.1 is in use \\(is a cluster, a gateway or another server already running\\?\\): ` +
          `choose another with LB_PORT, e\\.g\\. \`LB_PORT=(\\d+) npm run cluster\` \\(0 picks any free port\\)\\.$`,
      ),
    );
    const suggested = Number(/LB_PORT=(\d+)/.exec(sentence ?? '')![1]);
    assert.ok(suggested > held, 'a port above the busy one');
    assert.equal(await busyPortSentence([{ ...LB, port: suggested }], CLUSTER), undefined, 'which is free');
  });

  it('names the setting of the port that is busy, the second one too, and skips 0 (any free port)', async () => {
    const sentence = await busyPortSentence(
      [
        { ...LB, port: 0 },
        { ...LB, port: held, setting: 'LB_HTTP_PORT' },
      ],
      CLUSTER,
    );
    assert.match(sentence ?? '', /: choose another with LB_HTTP_PORT, /);
    assert.equal(await busyPortSentence([{ ...LB, port: 0 }], CLUSTER), undefined);
  });

  it('names the address setting when the address is not one of this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    const sentence = await busyPortSentence([{ ...LB, host: '192.0.2.1', port: 8080 }], CLUSTER);
    assert.equal(sentence, '192.0.2.1 is not an address of this machine, so nothing can listen on it: set LB_HOST to one that is.');
  });
});

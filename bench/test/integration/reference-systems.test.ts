/**
 * The bench's reference systems, real: nginx + nchan (where nginx and the module
 * are installed) and Socket.IO's sharded adapter on a Redis Cluster, each driven
 * by the load generator's own clients. Built code (dist): the systems start
 * their servers from it.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { within } from '@switchboard/testkit';
import { connectClient, type ClientHandlers, type LoadClient } from '../../dist/generator/client.js';
import { makeLine, readLine, type LineStamp } from '../../dist/generator/line.js';
import { processGone } from '../../dist/proc-stats.js';
import { roomName } from '../../dist/room-plan.js';
import { nchan } from '../../dist/systems/nchan.js';
import { socketioCluster } from '../../dist/systems/socketio.js';
import type { SystemUnderTest } from '../../dist/systems/system.js';

/** Real servers and a Redis Cluster on a shared machine: generous bounds. */
const TEST_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;

/** A load-generator client that keeps the lines it received (their room and number). */
async function client(
  system: SystemUnderTest,
  url: string,
  room?: number,
): Promise<{ client: LoadClient; lines: LineStamp[]; next: () => Promise<LineStamp> }> {
  const lines: LineStamp[] = [];
  let waiting: ((line: LineStamp) => void) | undefined;
  const handlers: ClientHandlers = {
    line: (text, at) => {
      const stamp: LineStamp = { phase: 0, sentUs: 0, room: 0 };
      assert.ok(readLine(text, at, stamp), 'a bench line');
      lines.push(stamp);
      waiting?.(stamp);
    },
    other: () => undefined,
    error: () => assert.fail('an error frame'),
    closed: (why) => assert.fail(`closed: ${why}`),
  };
  const connected = await connectClient(system.client, url, handlers, WAIT_MS, room === undefined ? undefined : roomName(room));
  let read = 0;
  const next = () =>
    within(
      new Promise<LineStamp>((resolve) => {
        if (lines.length > read) resolve(lines[read++]!);
        else
          waiting = (line) => {
            waiting = undefined;
            read++;
            resolve(line);
          };
      }),
      WAIT_MS,
      'a line',
    );
  return { client: connected, lines, next };
}

const ourTempDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('bench-nchan-'));

describe('nginx + nchan', { timeout: TEST_TIMEOUT_MS }, () => {
  const system = nchan(process.env.NGINX_BIN ?? 'nginx');
  const missing = system.missing!();

  it(
    'relays a raw text frame to every subscriber of its one channel, the sender too, and leaves nothing behind',
    { skip: missing },
    async () => {
      const dirsBefore = ourTempDirs();
      const running = await system.start({ nodes: 3, joinNotices: false });
      const pids = running.nodePids;
      try {
        assert.equal(running.urls.length, 1, 'one nginx');
        assert.ok(pids.length >= 2, 'its master and its worker are measured');
        const a = await client(system, running.urls[0]!);
        const b = await client(system, running.urls[0]!);
        a.client.send(makeLine(2, 1_000, 7, 64));
        for (const got of [await a.next(), await b.next()]) assert.deepEqual(got, { phase: 2, sentUs: 1_000, room: 0 });
        a.client.terminate();
        b.client.terminate();
      } finally {
        await running.stop();
      }
      assert.deepEqual(
        pids.filter((pid) => !processGone(pid)),
        [],
        'master and worker are gone',
      );
      assert.deepEqual(ourTempDirs(), dirsBefore, 'its folder is removed');
    },
  );

  it('says why it does not run where nginx or the module is missing', () => {
    assert.match(
      nchan('/nonexistent/nginx').missing!() ?? '',
      /^nginx not found \(\/nonexistent\/nginx; apt-get install nginx-light libnginx-mod-nchan\)$/,
    );
  });
});

describe('Socket.IO with the sharded adapter on a Redis Cluster', { timeout: TEST_TIMEOUT_MS }, () => {
  it("delivers a room's lines to its members on every node, and to no one else", async () => {
    const running = await socketioCluster.start({ nodes: 2, joinNotices: false });
    const pids = [...running.nodePids, ...running.redisPids];
    try {
      assert.equal(running.redis.length, 3, 'a 3-master Redis Cluster');
      const a1 = await client(socketioCluster, running.urls[0]!, 0);
      const a2 = await client(socketioCluster, running.urls[1]!, 0);
      const b = await client(socketioCluster, running.urls[1]!, 1);

      a1.client.send(makeLine(2, 1_000, 1, 64, 0));
      assert.equal((await a1.next()).room, 0, 'the sender has its echo');
      assert.equal((await a2.next()).room, 0, 'a member on the other node has it, through Redis');
      // b is on a2's node: had room-1's line reached it, it would have come before b's own echo.
      b.client.send(makeLine(2, 2_000, 2, 64, 1));
      assert.equal((await b.next()).room, 1);
      assert.deepEqual(
        b.lines.map((l) => l.room),
        [1],
        'no line of another room',
      );
      for (const c of [a1, a2, b]) c.client.terminate();
    } finally {
      await running.stop();
    }
    assert.deepEqual(
      pids.filter((pid) => !processGone(pid)),
      [],
    );
  });
});

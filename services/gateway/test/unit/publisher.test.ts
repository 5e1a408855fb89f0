import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { EventDraft } from '@switchboard/protocol';
import type { Bus, PublishResult } from '../../src/bus/bus.js';
import { Member } from '../../src/hub/member.js';
import type { Peer } from '../../src/hub/peer.js';
import { OrderedPublisher } from '../../src/hub/publisher.js';
import { noMetrics } from '../../src/metrics/metrics.js';

const run = promisify(execFile);

const peer = (): Peer => ({
  conn: 'conn-1',
  protocol: 'v1',
  id: 'id-1',
  nickname: 'alice',
  log: pino({ level: 'silent' }),
  send: () => undefined,
  close: () => undefined,
});

const draft = (message: string): EventDraft => ({
  type: 'message',
  room: 'lobby',
  id: 'id-1',
  nickname: 'alice',
  message,
  time: Date.now(),
});

/** A bus whose publishes the test answers, one by one, in any order. */
class AnsweredBus {
  readonly waiting: { message: string; answer: () => void }[] = [];
  private seq = 0;
  publish(event: EventDraft): Promise<PublishResult> {
    return new Promise((resolve) =>
      this.waiting.push({
        message: (event as { message: string }).message,
        answer: () => resolve({ epoch: 'e', seq: ++this.seq, duplicate: false }),
      }),
    );
  }
  answer(message: string): void {
    const at = this.waiting.findIndex((w) => w.message === message);
    this.waiting.splice(at, 1)[0]!.answer();
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('OrderedPublisher', () => {
  it("runs what comes after a member's publishes (its leave) once every one of them and its session updates have settled", async () => {
    const bus = new AnsweredBus();
    const publisher = new OrderedPublisher(bus as unknown as Bus, noMetrics);
    const member = new Member(peer());
    let updated = false;
    let finishUpdate!: () => void;
    publisher.publish(member, draft('one'));
    publisher.publish(member, draft('two'), {
      onSuccess: () =>
        new Promise<void>((resolve) => {
          finishUpdate = () => {
            updated = true;
            resolve();
          };
        }),
    });
    let leftAfterUpdate: boolean | undefined;
    publisher.afterPublishes(member, () => {
      leftAfterUpdate = updated;
      return Promise.resolve();
    });
    bus.answer('two');
    await turn();
    bus.answer('one');
    await turn();
    assert.equal(leftAfterUpdate, undefined, 'the session update of "two" is still under way');
    finishUpdate();
    await publisher.drain();
    assert.equal(leftAfterUpdate, true);
  });

  it('waits for a command under way, and for what it publishes when it is done', async () => {
    const bus = new AnsweredBus();
    const publisher = new OrderedPublisher(bus as unknown as Bus, noMetrics);
    const member = new Member(peer());
    let finishCommand!: () => void;
    member.inFlight.add(new Promise<void>((resolve) => (finishCommand = resolve)).then(() => publisher.publish(member, draft('queued'))));
    let left = false;
    publisher.afterPublishes(member, () => {
      left = true;
      return Promise.resolve();
    });
    finishCommand();
    await turn();
    assert.equal(left, false, 'the line queued behind the command is still being published');
    bus.answer('queued');
    await publisher.drain();
    assert.equal(left, true);
  });

  it('keeps no more memory for a member after 100,000 lines than after 10,000', async () => {
    const lines = 100_000;
    const script = fileURLToPath(new URL('./publisher-memory.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      env: { ...process.env, LINES: String(lines) },
    });
    const { before, after, inFlight } = JSON.parse(stdout) as { before: number; after: number; inFlight: number };
    // A chain of every publish kept about 70 bytes per line (7 MB here); what is left is noise.
    assert.ok(after - before < lines * 16, `the heap grew by ${after - before} bytes over ${lines} lines`);
    assert.equal(inFlight, 0);
  });
});

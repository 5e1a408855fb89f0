import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, type RoomName } from '@switchboard/protocol';
import { ChatClient, EventLog } from '@switchboard/testkit';
import { readCa, shell, wsUrlOf } from './target.js';

/**
 * The Redis master dies under the chat, and its replica takes over: run by
 * `npm run e2e:docker`'s HA variant (docker-compose.ha.yml: a master, a replica,
 * three Sentinels), through the load balancer only.
 *
 *   E2E_URL                     the load balancer (as for the rest of the suite)
 *   E2E_REDIS_MASTER_KILL_CMD   a shell command that SIGKILLs the Redis master (the one the
 *                               Sentinels name) and returns; unset: this file is skipped
 */
const KILL_CMD = process.env.E2E_REDIS_MASTER_KILL_CMD;
const SKIP =
  !process.env.E2E_URL || !KILL_CMD
    ? 'E2E_URL and E2E_REDIS_MASTER_KILL_CMD are not set (npm run e2e:docker sets them for its HA variant)'
    : false;

const ROOMS = 2;
const MEMBERS_PER_ROOM = 3;
/** Lines each member has had acknowledged before the kill, and again after it. */
const LINES_BEFORE = 10;
const LINES_AFTER = 10;
/** Longest wait for one line's acknowledgement (the failover included) or for a member to hear one, ms. */
const LINE_MS = 90_000;
const CONNECT_TIMEOUT_MS = 15_000;
/** A refused line is sent again (same ref) after this long, ms: as the SDK backs off. */
const RETRY_PAUSE_MS = 100;
const RETRYABLE = new Set<string>([ErrorCode.BUS_UNAVAILABLE, ErrorCode.RATE_LIMITED]);

interface Member {
  readonly label: string;
  readonly room: RoomName;
  readonly client: ChatClient;
  readonly sent: string[];
  readonly ackedAt: number[];
}

/** Send `text` with `ref` until acknowledged (its echo or an `ack`); a retryable refusal is sent again with the same ref. */
async function deliver(client: ChatClient, text: string, ref: string): Promise<void> {
  for (;;) {
    const from = client.frames.items.length;
    client.sendJson({ type: 'message', message: text, ref });
    const answer = await client.frames.waitFor(
      (f) => 'ref' in f && f.ref === ref && (f.type === 'error' || f.type === 'ack' || (f.type === 'message' && f.id === client.id)),
      LINE_MS,
      `the acknowledgement of "${text}"`,
      from,
    );
    if (answer.type !== 'error') return;
    assert.ok(RETRYABLE.has(answer.code), `"${text}" refused for good: ${answer.code}`);
    await delay(RETRY_PAUSE_MS);
  }
}

describe('the Redis master killed while clients chat (Sentinel promotes its replica)', { skip: SKIP, timeout: 300_000 }, () => {
  const members: Member[] = [];

  before(async () => {
    const wsUrl = wsUrlOf(new URL(process.env.E2E_URL!));
    const ca = readCa(process.env);
    for (let r = 0; r < ROOMS; r++) {
      const room = `ha-${process.pid}-${r}`;
      for (let m = 0; m < MEMBERS_PER_ROOM; m++) {
        const client = await ChatClient.connect(wsUrl, { hello: {}, timeoutMs: CONNECT_TIMEOUT_MS, ca });
        const from = client.frames.items.length;
        client.sendJson({ type: 'join', room, ref: `join-${room}` });
        await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, LINE_MS, `#${room} joined`, from);
        members.push({ label: `${room}/${m}@${client.node}`, room, client, sent: [], ackedAt: [] });
      }
    }
  });

  after(async () => {
    await Promise.allSettled(members.map((m) => m.client.close()));
  });

  test('every line acknowledged reaches every member of its room, in order, and lines flow again', async (t) => {
    const progress = new EventLog<{ label: string; sent: number }>();
    let sending = true;
    const senders = members.map(async (member) => {
      for (let i = 1; sending; i++) {
        const text = `${member.label} line ${i}`;
        await deliver(member.client, text, `line-${i}`);
        member.sent.push(text);
        member.ackedAt.push(Date.now());
        progress.push({ label: member.label, sent: member.sent.length });
      }
    });
    const untilSent = (counts: readonly number[]) =>
      Promise.all(
        members.map((m, i) =>
          progress.waitFor((p) => p.label === m.label && p.sent >= counts[i]!, LINE_MS, `${m.label}: ${counts[i]} lines`),
        ),
      );

    await untilSent(members.map(() => LINES_BEFORE));
    const killedAt = Date.now();
    await shell(KILL_CMD!, {});
    t.diagnostic(`Redis master killed (${members.reduce((n, m) => n + m.sent.length, 0)} lines acknowledged before)`);
    await untilSent(members.map((m) => m.sent.length + LINES_AFTER));
    sending = false;
    await Promise.all(senders);

    let duplicates = 0;
    for (const { label, room, client } of members) {
      const inRoom = members.filter((m) => m.room === room);
      for (const sender of inRoom) await client.waitForMessage('message', sender.sent.at(-1)!, LINE_MS);
      const texts = client.events.filter((e) => e.room === room && e.type === 'message' && e.history !== true).map((e) => e.message);
      const heard = new Set(texts);
      duplicates += texts.length - heard.size;
      for (const sender of inRoom) {
        assert.deepEqual(
          sender.sent.filter((text) => !heard.has(text)),
          [],
          `${label}: every acknowledged line of ${sender.label}`,
        );
        const order = [...new Set(texts.filter((text) => text.startsWith(`${sender.label} `)))];
        assert.deepEqual(order, sender.sent, `${label}: the lines of ${sender.label} in the order sent`);
      }
    }
    // The stall: the longest any member waited for an acknowledgement across the kill (printed, not asserted: Docker's timings are noisy).
    const stallMs = Math.max(
      ...members.map((m) => Math.max(...m.ackedAt.map((at, i) => (i > 0 && at >= killedAt ? at - m.ackedAt[i - 1]! : 0)))),
    );
    const sent = members.reduce((n, m) => n + m.sent.length, 0);
    t.diagnostic(
      `${sent} lines acknowledged, every one heard by every member of its room; ${duplicates} heard twice; longest stall ${stallMs} ms`,
    );
    console.error(`e2e: Redis master killed: longest stall ${stallMs} ms, ${sent} lines acknowledged, 0 lost, ${duplicates} heard twice`);
  });
});

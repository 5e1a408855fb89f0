import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  ErrorCode,
  HISTORY_ON_JOIN,
  JOIN_BURST,
  JOIN_NOTICE_BURST,
  JOIN_NOTICE_RATE_PER_SEC,
  JOIN_RATE_PER_SEC,
  PRESENCE_QUERY_BURST,
  PRESENCE_QUERY_RATE_PER_SEC,
  PRESENCE_SUMMARY_INTERVAL_MS,
  type NotificationFrame,
  type ErrorFrame,
  type ServerFrame,
} from '@switchboard/protocol';
import { ChatClient, GatewayProcess, RedisServer } from '@switchboard/testkit';

/**
 * Abuse, presence: what clients that flap between crowded rooms, or flood
 * `/who`, can make everyone else pay. Real redis-server, two real gateway
 * processes at the default rates (the per-address admission limits are lifted:
 * every test client comes from 127.0.0.1). Each test prints what it measured.
 *
 * Assertions are on counts (notices heard, joins done, answers sent, Redis
 * commands run), never on time: the quiet room's round trip before and during
 * the flapping is measured and printed, not asserted, as a loaded 2-core test
 * machine would make any timing bound flaky.
 */

const WAIT_MS = 30_000;
/** The flappers' and flooders' pace: just under the frame rate (MESSAGE_RATE_PER_SEC 20), as in the report. */
const ABUSE_PER_SEC = 19;

/** Members per crowded room (split over both nodes), and clients flapping between the two. */
const MEMBERS_PER_ROOM = 40;
const FLAPPERS = 8;
const FLAP_MS = 8_000;
/** Chat lines said in each crowded room before the flapping: what a join sends back as history. */
const LINES_PER_ROOM = 40;
/**
 * A resume's bound, scaled down with the test (2,000 by default): the flappers
 * make about FLAPPERS x (JOIN_BURST + JOIN_RATE_PER_SEC x FLAP_MS/1000) = 104
 * notices in each room unless the room's notice budget holds them to about 35.
 */
const RESUME_MAX_EVENTS = 70;

/** A /who flood: the room's size, the flooders, how long. */
const BIG_ROOM_MEMBERS = 150;
const FLOODERS = 5;
const FLOOD_MS = 5_000;

const v2 = (url: string, hello: object = {}) => ChatClient.connect(url, { hello });

/** Connect `count` seed clients, taking the nodes in turn, each moved to `room`. */
async function crowd(nodes: readonly GatewayProcess[], count: number, room: string): Promise<ChatClient[]> {
  const clients = await Promise.all(Array.from({ length: count }, (_, i) => ChatClient.connect(nodes[i % nodes.length]!.wsUrl)));
  await Promise.all(clients.map((c) => join(c, room)));
  return clients;
}

async function join(client: ChatClient, room: string): Promise<void> {
  const from = client.frames.items.length;
  client.send(`/join ${room}`);
  await client.frames.waitFor((f) => f.type === 'joined' && f.room === room, WAIT_MS, `#${room} joined`, from);
}

/** Presence notices (joined, left, summary) among `frames`. */
const presence = (frames: readonly ServerFrame[]) =>
  frames.filter((f): f is NotificationFrame => f.type === 'notification' && ['joined', 'left', 'summary'].includes(f.event ?? ''));

/** The most notices stamped within one second of each other (by the time the cluster decided them). */
function mostInOneSecond(notices: readonly NotificationFrame[]): number {
  const times = notices.map((n) => n.time).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 1_000) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

const rateLimited = (f: ServerFrame): f is ErrorFrame => f.type === 'error' && f.code === ErrorCode.RATE_LIMITED;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** Send lines in `room` from `from` to `to` (on another node), one at a time, until `stop()`: each line's time across the cluster, ms. */
async function roundTrips(from: ChatClient, to: ChatClient, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; !stop(); i++) {
    const text = `ping ${i} ${Math.random()}`;
    const sent = performance.now();
    from.send(text);
    await to.waitForMessage('message', text);
    times.push(performance.now() - sent);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return times.sort((a, b) => a - b);
}

const describeTimes = (t: readonly number[]) =>
  `p50 ${percentile(t, 50).toFixed(1)} ms, p99 ${percentile(t, 99).toFixed(1)} ms (${t.length} lines)`;

/** CPU time a process has used so far, user and system, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The gateways' CPU, as a share of one core, over what `work` takes. */
async function cpuShare<T>(nodes: readonly GatewayProcess[], work: () => Promise<T>): Promise<{ result: T; share: number }> {
  const [start, before] = [performance.now(), nodes.map((n) => cpuMs(n.pid))];
  const result = await work();
  const used = nodes.reduce((ms, n, i) => ms + cpuMs(n.pid) - before[i]!, 0);
  return { result, share: used / (performance.now() - start) };
}

/** Redis's own count of calls and CPU time per command (INFO commandstats). */
async function commandStats(redis: RedisServer): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.cli('INFO', 'commandstats')).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

function statDelta(
  before: Map<string, { calls: number; usec: number }>,
  later: Map<string, { calls: number; usec: number }>,
  command: string,
) {
  const [a, b] = [before.get(command), later.get(command)];
  return { calls: (b?.calls ?? 0) - (a?.calls ?? 0), usec: (b?.usec ?? 0) - (a?.usec ?? 0) };
}

describe('flapping between two crowded rooms', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];
  const opened: ChatClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all(
      [1, 2].map((n) =>
        GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `flap-${n}`, RESUME_MAX_EVENTS: String(RESUME_MAX_EVENTS) } }),
      ),
    );
  });

  after(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('costs each member a bounded number of notices a second, each join its rate, and a v2 client away meanwhile still resumes', async (t) => {
    const rooms = ['hot-a', 'hot-b'] as const;
    const members = [...(await crowd(nodes, MEMBERS_PER_ROOM, rooms[0])), ...(await crowd(nodes, MEMBERS_PER_ROOM, rooms[1]))];
    opened.push(...members);
    for (const [r, room] of rooms.entries()) {
      const speaker = members[r * MEMBERS_PER_ROOM]!;
      for (let i = 0; i < LINES_PER_ROOM; i++) speaker.send(`said in #${room} before, ${i}`);
      await speaker.waitForMessage('message', `said in #${room} before, ${LINES_PER_ROOM - 1}`);
    }
    const [quietA, quietB] = await Promise.all([ChatClient.connect(nodes[0]!.wsUrl), ChatClient.connect(nodes[1]!.wsUrl)]);
    opened.push(quietA, quietB);
    await Promise.all([join(quietA, 'quiet'), join(quietB, 'quiet')]);

    // A v2 client in #hot-a drops, and stays away for longer than the flapping lasts.
    const away = await v2(nodes[1]!.wsUrl);
    away.sendJson({ type: 'join', room: rooms[0], ref: 'in' });
    const joined = await away.waitFor((f) => f.type === 'joined' && f.ref === 'in', 'the v2 client in #hot-a');
    away.sendJson({ type: 'message', message: 'leaving for a while', ref: 'bye' });
    await away.waitFor((f) => f.type === 'message' && f.ref === 'bye', 'its last line echoed');
    const last = away.events.filter((e) => e.room === rooms[0]).at(-1)!;
    const resumeAt = { session: away.welcome.session, since: last.seq, epoch: last.epoch, room: rooms[0] };
    assert.equal(last.epoch, (joined as { epoch: string }).epoch);
    away.drop();
    const droppedAt = performance.now();

    let flapping = false;
    const quietEnd = performance.now() + 3_000;
    const { result: baseline, share: quietCpu } = await cpuShare(nodes, () =>
      roundTrips(quietA, quietB, () => performance.now() > quietEnd),
    );

    const flappers = await Promise.all(Array.from({ length: FLAPPERS }, (_, i) => ChatClient.connect(nodes[i % 2]!.wsUrl)));
    opened.push(...flappers);
    let historyBytes = 0;
    for (const f of flappers) {
      f.socket.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.includes('"history":true')) historyBytes += data.length;
      });
    }
    const marks = members.map((m) => m.frames.items.length);
    flapping = true;
    const during = roundTrips(quietA, quietB, () => !flapping);
    const flapStart = performance.now();
    let sent = 0;
    const { share: flapCpu } = await cpuShare(
      nodes,
      () =>
        new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            if (performance.now() - flapStart >= FLAP_MS) {
              clearInterval(timer);
              resolve();
              return;
            }
            for (const f of flappers) f.send(`/join ${rooms[sent % 2]}`);
            sent++;
          }, 1_000 / ABUSE_PER_SEC);
        }),
    );
    const flapS = (performance.now() - flapStart) / 1_000;
    flapping = false;
    const duringTimes = await during;
    // Everything the flapping made (its last notices, the summaries still owed) has reached every member.
    await Promise.all(flappers.map((f) => f.barrier('flapping over')));
    await new Promise((resolve) => setTimeout(resolve, PRESENCE_SUMMARY_INTERVAL_MS + 1_000));
    await Promise.all(rooms.map((_, r) => members[r * MEMBERS_PER_ROOM]!.barrier('summaries in')));

    // Each flapper: its joins held to JOIN_BURST + JOIN_RATE_PER_SEC a second, the rest refused with a retry hint.
    const answered = flappers.map((f) => f.frames.items.filter((x) => x.type === 'joined').length);
    const refused = flappers.flatMap((f) => f.frames.items.filter(rateLimited));
    const mostJoins = JOIN_BURST + Math.ceil(JOIN_RATE_PER_SEC * flapS) + 1;
    for (const n of answered)
      assert.ok(n <= mostJoins, `a flapper was answered ${n} joins in ${flapS.toFixed(1)} s (at most ${mostJoins})`);
    assert.ok(refused.length >= sent * FLAPPERS - FLAPPERS * mostJoins, `${refused.length} joins refused`);
    assert.ok(
      refused.every((e) => Number.isInteger(e.retryAfterMs) && e.retryAfterMs! >= 1 && e.retryAfterMs! <= 1_000 / JOIN_RATE_PER_SEC),
      'every refusal says when to try again, within one join period',
    );
    const historyLines = flappers.reduce((n, f) => n + f.frames.items.filter((x) => 'history' in x && x.history === true).length, 0);
    assert.ok(historyLines <= answered.reduce((a, b) => a + b, 0) * HISTORY_ON_JOIN, 'history is sent only with the joins done');

    // Each member: at most the room's budget of joined/left notices, and a summary per interval.
    const heard = members.map((m, i) => presence(m.frames.items.slice(marks[i])));
    const windowS = flapS + (PRESENCE_SUMMARY_INTERVAL_MS + 1_000) / 1_000;
    const mostHeard =
      JOIN_NOTICE_BURST + Math.ceil(JOIN_NOTICE_RATE_PER_SEC * windowS) + Math.ceil((windowS * 1_000) / PRESENCE_SUMMARY_INTERVAL_MS) + 1;
    const counts = heard.map((h) => h.length);
    for (const [i, n] of counts.entries())
      assert.ok(n <= mostHeard, `member ${i} heard ${n} notices in ${windowS.toFixed(1)} s (at most ${mostHeard})`);
    // Every move goes into or out of #hot-a (the first one from the lobby into it); a join to the room a flapper is in moves nothing.
    const moves = flappers.reduce((n, f) => {
      let at = 'lobby';
      for (const x of f.frames.items) {
        if (x.type !== 'joined' || x.room === at) continue;
        at = x.room;
        n++;
      }
      return n;
    }, 0);
    const summed = heard[0]!.filter((n) => n.event === 'summary').reduce((s, n) => s + (n.joined ?? 0) + (n.left ?? 0), 0);
    const told = heard[0]!.filter((n) => n.event !== 'summary').length;
    assert.ok(told + summed >= moves, `every move into or out of #hot-a heard of, one by one or summed (${told} + ${summed} of ${moves})`);

    // The v2 client, away for longer than all of it, resumes with nothing lost.
    const back = await v2(nodes[0]!.wsUrl, resumeAt);
    opened.push(back);
    const awayS = (performance.now() - droppedAt) / 1_000;
    assert.equal(back.welcome.resumed, true, `resumed after ${awayS.toFixed(1)} s away`);
    const replayed = back.events.filter((e) => e.room === rooms[0]);
    replayed.forEach((e, i) => assert.equal(e.seq, resumeAt.since + 1 + i, 'contiguous from where it stopped'));

    const deliveries = counts.reduce((a, b) => a + b, 0);
    t.diagnostic(`${FLAPPERS} flappers x ${ABUSE_PER_SEC} joins/s for ${flapS.toFixed(1)} s between two rooms of ${MEMBERS_PER_ROOM}`);
    t.diagnostic(`joins answered per flapper: ${answered.join(', ')} (at most ${mostJoins}); refused with RATE_LIMITED: ${refused.length}`);
    t.diagnostic(`history on join: ${historyLines} lines, ${(historyBytes / 1024).toFixed(1)} KiB to all flappers`);
    t.diagnostic(
      `notices per member in ${windowS.toFixed(1)} s: max ${Math.max(...counts)}, min ${Math.min(...counts)} (bound ${mostHeard}); ` +
        `most in one second ${Math.max(...heard.map(mostInOneSecond))}; ${(Math.max(...counts) / windowS).toFixed(2)}/s; ` +
        `deliveries to all members ${deliveries}`,
    );
    t.diagnostic(`#hot-a heard ${told} moves one by one and ${summed} in summaries; the flappers moved ${moves} times`);
    t.diagnostic(`quiet room, across nodes: before ${describeTimes(baseline)}; during ${describeTimes(duringTimes)}`);
    t.diagnostic(`both gateways' CPU: ${(quietCpu * 100).toFixed(1)} % of a core before, ${(flapCpu * 100).toFixed(1)} % during`);
    t.diagnostic(
      `v2 client away ${awayS.toFixed(1)} s: resumed, ${replayed.length} events replayed (RESUME_MAX_EVENTS ${RESUME_MAX_EVENTS})`,
    );
  });

  it('lets a refused join through once its retry hint has passed', async () => {
    const mover = await ChatClient.connect(nodes[0]!.wsUrl);
    opened.push(mover);
    for (let i = 0; i <= JOIN_BURST; i++) mover.send(`/join try-${i}`);
    const refusal = (await mover.waitFor(rateLimited, 'a join refused')) as ErrorFrame;
    await mover.waitFor((f) => f.type === 'joined' && f.room === `try-${JOIN_BURST - 1}`, 'the burst done');
    assert.equal(mover.frames.items.filter((f) => f.type === 'joined').length, JOIN_BURST, 'the burst, and no more');
    await new Promise((resolve) => setTimeout(resolve, refusal.retryAfterMs));
    mover.send('/join try-again');
    await mover.waitFor((f) => f.type === 'joined' && f.room === 'try-again', 'the join after the hint');
  });
});

describe('a /who flood', () => {
  let redis: RedisServer;
  let nodes: GatewayProcess[] = [];
  const opened: ChatClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all([1, 2].map((n) => GatewayProcess.start({ env: { REDIS_URL: redis.url, NODE_ID: `who-${n}` } })));
  });

  after(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.dispose();
  });

  it('costs Redis a few reads a second, whatever the askers do, and refuses past the rate with a retry hint', async (t) => {
    const room = 'big';
    const members = await crowd(nodes, BIG_ROOM_MEMBERS, room);
    opened.push(...members);
    // One /who, once nothing is cached: what one read costs Redis.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const s0 = await commandStats(redis);
    members[0]!.send('/who');
    const first = await members[0]!.waitFor((f) => f.type === 'members', 'one /who answered');
    assert.equal((first as { count: number }).count, BIG_ROOM_MEMBERS);
    const perRead = statDelta(s0, await commandStats(redis), 'hscan').calls;
    assert.ok(perRead >= 1, `a read scans the members (${perRead} HSCAN)`);
    // HSCAN ... COUNT 100 until 200 are listed: Redis's COUNT is a hint, so allow a read one page more than this one took.
    const pagesPerRead = perRead + 1;

    const flooders = members.slice(1, 1 + FLOODERS);
    let answerBytes = 0;
    for (const f of flooders) {
      f.socket.on('message', (data: Buffer) => {
        if (data.includes('"type":"members"')) answerBytes += data.length;
      });
    }
    const marks = flooders.map((f) => f.frames.items.length);
    const before = await commandStats(redis);
    const start = performance.now();
    let asked = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (performance.now() - start >= FLOOD_MS) {
          clearInterval(timer);
          resolve();
          return;
        }
        for (const f of flooders) f.send('/who');
        asked++;
      }, 1_000 / ABUSE_PER_SEC);
    });
    const floodS = (performance.now() - start) / 1_000;
    await Promise.all(flooders.map((f) => f.barrier('flood over')));
    const later = await commandStats(redis);
    const hscan = statDelta(before, later, 'hscan');
    const scripts = statDelta(before, later, 'evalsha');

    const got = flooders.map((f, i) => f.frames.items.slice(marks[i]));
    const answers = got.map((frames) => frames.filter((f) => f.type === 'members').length);
    const refusals = got.flatMap((frames) => frames.filter(rateLimited));
    const mostAnswers = PRESENCE_QUERY_BURST + Math.ceil(PRESENCE_QUERY_RATE_PER_SEC * floodS) + 1;
    for (const n of answers) assert.ok(n <= mostAnswers, `a flooder got ${n} answers in ${floodS.toFixed(1)} s (at most ${mostAnswers})`);
    assert.equal(answers.reduce((a, b) => a + b, 0) + refusals.length, asked * FLOODERS, 'every question answered or refused');
    assert.ok(
      refusals.length > 0 && refusals.every((e) => e.retryAfterMs! >= 1 && e.retryAfterMs! <= 1_000 / PRESENCE_QUERY_RATE_PER_SEC),
      'refused with a retry hint',
    );
    // One read per room per node per PRESENCE_CACHE_MS (1 s), however many ask.
    const mostReads = nodes.length * (Math.ceil(floodS) + 1);
    assert.ok(hscan.calls <= mostReads * pagesPerRead, `${hscan.calls} HSCANs: at most ${mostReads} reads of ${pagesPerRead} pages`);

    t.diagnostic(
      `${FLOODERS} clients x ${ABUSE_PER_SEC} /who a second for ${floodS.toFixed(1)} s in a room of ${BIG_ROOM_MEMBERS}, on 2 nodes`,
    );
    t.diagnostic(
      `answered ${answers.join(', ')} (at most ${mostAnswers} each), refused ${refusals.length}; answers ${(answerBytes / 1024).toFixed(1)} KiB`,
    );
    t.diagnostic(
      `Redis: ${hscan.calls} HSCAN (${perRead} per read, so ${(hscan.calls / perRead).toFixed(0)} reads; at most ${mostReads}), ` +
        `${hscan.usec} us; EVALSHA ${scripts.calls} calls, ${(scripts.usec / 1_000).toFixed(1)} ms of Redis CPU`,
    );
  });
});

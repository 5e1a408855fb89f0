import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { RoomName } from '@switchboard/protocol';
import { eventually, within } from '@switchboard/testkit';
import { Probe } from './chaos-probe.js';
import { analyse, countBy, mergeReports, type Report } from './chaos-report.js';
import { ChaosRun, STEADY_MS } from './chaos-run.js';
import { ReadinessWatch, type ReadinessSample } from './swarm-readiness.js';
import { chaosTargetOf, desiredReplicas, docker, openSwarmTarget, runningTaskImages, serviceImage, updateState } from './swarm-target.js';

/**
 * Issue 25's proof, on a stack of infra/swarm/stack.yml (npm run e2e:swarm):
 * SDK clients (protocol v2) chat in several rooms through the balancer while
 * the gateway service is rolled to a new image (`docker service update
 * --image`), then scaled to 5 gateways and back to 2. Every acknowledged line
 * must reach every member of its room once and in order, every dropped client
 * must be back within a few seconds, and during the update all gateways but
 * one must answer /readyz at every moment (a watcher inside the swarm looks at
 * every task four times a second).
 */
const ROOMS = 3;
/** Clients per room and gateway: every room has members on every gateway. */
const PER_ROOM_AND_GATEWAY = 1;
/**
 * The issue's "back within a few seconds": from the close to the next welcome,
 * ms. About 1 s on a quiet host; a host starved of CPU by other work takes longer.
 */
const BACK_WITHIN_MS = 10_000;
const SCALE_UP_TO = 5;
const SCALE_DOWN_TO = 2;
/** `docker service update` and `scale` wait until the service has converged; at most this long per gateway, ms. */
const CONVERGE_PER_GATEWAY_MS = 60_000;
const READY_TIMEOUT_MS = 60_000;
const BACK_TIMEOUT_MS = 30_000;
/** The update's `monitor` (10 s in stack.yml) and then some, ms. */
const MONITOR_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 15_000;
/** Connecting clients until every gateway has some: at most this long, this far apart (the balancer may not know a new gateway yet), ms. */
const SPREAD_TIMEOUT_MS = 60_000;
const SPREAD_INTERVAL_MS = 250;
const TEST_TIMEOUT_MS = 600_000;
const ROLLING_REPORT = new URL('../../test-output/e2e-swarm-rolling-update.txt', import.meta.url);
const SCALE_REPORT = new URL('../../test-output/e2e-swarm-scale.txt', import.meta.url);

const swarm = openSwarmTarget();
let watch: ReadinessWatch | undefined;

before(async () => {
  if ('cannot' in swarm) return;
  watch = ReadinessWatch.start({ image: swarm.watchImage, network: swarm.network, service: swarm.service, port: 8080 });
  await watch.waitForReady(await desiredReplicas(swarm.service), READY_TIMEOUT_MS);
});

after(async () => {
  await watch?.stop();
});

/**
 * Connect `count` clients one by one, and more while some of the `gateways`
 * have none (the balancer sends a new client to the gateway with the fewest:
 * one it has only just found gets the next ones). Returns the new clients.
 */
async function connectSpread(run: ChaosRun, count: number, gateways: number): Promise<Probe[]> {
  const fresh: Probe[] = [];
  const spread = () => new Set(run.probes.map((p) => p.node)).size;
  await eventually(
    async () => {
      if (fresh.length < count || spread() < gateways) {
        const probe = new Probe(run.probes.length, run.target.wsUrl, run.target.ca);
        run.probes.push(probe);
        fresh.push(probe);
        await within(probe.client.connect(), CONNECT_TIMEOUT_MS, `client ${probe.index} to connect`);
        assert.equal(probe.client.protocol, 'v2', `client ${probe.index} speaks v2`);
      }
      return fresh.length >= count && spread() >= gateways;
    },
    { what: `${count} clients or more, on all ${gateways} gateways`, timeoutMs: SPREAD_TIMEOUT_MS, intervalMs: SPREAD_INTERVAL_MS },
  );
  run.log(`${run.probes.length} clients on ${[...countBy(run.probes.map((p) => p.node))].map(([n, c]) => `${n}=${c}`).join(' ')}`);
  return fresh;
}

/** Deal the clients of each gateway out over `rooms` (every room gets members on every gateway) and join them. */
async function dealIntoRooms(probes: readonly Probe[], rooms: readonly RoomName[]): Promise<Map<RoomName, Probe[]>> {
  const groups = new Map<RoomName, Probe[]>(rooms.map((room) => [room, []]));
  const perNode = new Map<string, number>();
  await Promise.all(
    probes.map((probe) => {
      const n = perNode.get(probe.node) ?? 0;
      perNode.set(probe.node, n + 1);
      const room = rooms[n % rooms.length]!;
      groups.get(room)!.push(probe);
      return probe.join(room);
    }),
  );
  return groups;
}

/**
 * Stop sending, wait until every room is quiet, and what every room's members
 * ended with. `late` are members that joined a room while it was busy (they
 * send nothing): their sequence from their join on must be the others', but the
 * lines before it are no loss of theirs, so "delivered" counts the first members only.
 */
async function settle(
  run: ChaosRun,
  groups: ReadonlyMap<RoomName, Probe[]>,
  epochs: ReadonlyMap<RoomName, string>,
  late: ReadonlyMap<RoomName, Probe[]> = new Map(),
): Promise<Report> {
  await run.stopSending();
  const reports: Report[] = [];
  const lateReports: Report[] = [];
  for (const [room, group] of groups) {
    const joinedLate = late.get(room) ?? [];
    const finalSeq = await run.quiesce([...group, ...joinedLate]);
    reports.push(analyse(group, run.lines, epochs.get(room)!, finalSeq));
    if (joinedLate.length > 0) lateReports.push(analyse([group[0]!, ...joinedLate], run.lines, epochs.get(room)!, finalSeq));
  }
  const report = mergeReports([...reports, ...lateReports]);
  report.deliveredToAll = mergeReports(reports).deliveredToAll;
  return report;
}

function epochsOf(groups: ReadonlyMap<RoomName, Probe[]>): Map<RoomName, string> {
  return new Map([...groups].map(([room, group]) => [room, group[0]!.client.position!.epoch]));
}

/** Every client open again, and welcomed since it was last dropped. */
async function everyoneBack(run: ChaosRun, what: string): Promise<void> {
  await within(Promise.all(run.probes.map((p) => p.client.whenOpen())), BACK_TIMEOUT_MS, `every client to be open after ${what}`);
}

/** The figures every scenario reports: sent, acknowledged, delivered, lost, duplicated, longest reconnect. */
function figures(run: ChaosRun, report: Report): string {
  const acknowledged = [...run.lines.values()].filter((l) => l.status === 'acked').length;
  const longest = Math.max(0, ...run.probes.flatMap((p) => p.reconnectMs));
  return [
    `sent ${run.lines.size + run.notQueued.length}`,
    `acknowledged ${acknowledged}`,
    `delivered ${report.deliveredToAll}`,
    `lost ${report.lost.length}`,
    `duplicated ${report.duplicated.length}`,
    `longest reconnect ${(longest / 1000).toFixed(1)} s`,
  ].join(', ');
}

/** Whether a gateway answered /readyz with 503 for overload (the others' reasons are draining, starting, or Redis). */
function overloaded(sample: ReadinessSample): boolean {
  return Object.values(sample.answers).some((answer) => typeof answer === 'string' && answer.startsWith('503 overloaded'));
}

/** The samples in which fewer than `least` gateways were ready, for the failure's message. */
function below(samples: readonly ReadinessSample[], least: number): string {
  const few = samples.filter((s) => s.ready < least);
  return `${few.length} of ${samples.length} samples, e.g. ${few
    .slice(0, 5)
    .map((s) => JSON.stringify(s))
    .join(' ')}`;
}

function longestReconnectMs(run: ChaosRun): number {
  return Math.max(0, ...run.probes.flatMap((p) => p.reconnectMs));
}

describe('Docker Swarm: the gateway service updated and scaled while v2 clients chat', { timeout: TEST_TIMEOUT_MS * 2 }, () => {
  test(
    'a rolling update to a new image loses no line, and all gateways but one stay ready throughout',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if ('cannot' in swarm) {
        t.skip(swarm.cannot);
        return;
      }
      const { service, nextImage } = swarm;
      const replicas = await desiredReplicas(service);
      assert.notEqual(await serviceImage(service), nextImage, `the service does not run ${nextImage} yet`);
      const run = new ChaosRun(chaosTargetOf(swarm, () => replicas));
      try {
        await connectSpread(run, ROOMS * PER_ROOM_AND_GATEWAY * replicas, replicas);
        const rooms = Array.from({ length: ROOMS }, (_, i) => `rolling-${process.pid}-${i}`);
        const groups = await dealIntoRooms(run.probes, rooms);
        const epochs = epochsOf(groups);
        const before = new Set(run.probes.map((p) => p.node));
        run.log(`rooms: ${[...groups].map(([room, group]) => `#${room} (${group.length} clients)`).join(', ')}`);

        run.startSending();
        await delay(STEADY_MS);
        const from = Date.now();
        run.log(`docker service update --image ${nextImage} ${service} (${replicas} replicas)`);
        await within(
          docker('service', 'update', '--quiet', '--image', nextImage, service),
          CONVERGE_PER_GATEWAY_MS * replicas,
          'the rolling update',
        );
        const to = Date.now();
        run.log(`the update converged in ${((to - from) / 1000).toFixed(1)} s`);
        await everyoneBack(run, 'the rolling update');
        await delay(STEADY_MS);
        const report = await settle(run, groups, epochs);

        // What the update does to capacity: samples in which a gateway said it was
        // overloaded (its event loop lagging past MAX_EVENT_LOOP_LAG_MS, which a host
        // starved of CPU by other work causes) say nothing about it, and are left out.
        const samples = watch!.between(from, to);
        const starved = samples.filter(overloaded);
        const window = samples.filter((sample) => !overloaded(sample));
        const fewest = Math.min(...window.map((sample) => sample.ready));
        const readiness = `readiness during the update: ${samples.length} samples, ${starved.length} of them with an overloaded gateway (left out), fewest ready ${fewest} in the others`;
        run.log(readiness);
        const line = `rolling update: ${figures(run, report)}, fewest ready ${fewest} of ${replicas}`;
        run.writeReport('rolling update of the gateway service (e2e/src/swarm.test.ts)', report, ROLLING_REPORT);
        appendFileSync(ROLLING_REPORT, `${readiness}\n${line}\n`);
        console.error(line);

        run.assertNothingLost(report);
        assert.ok(window.length >= 10, `the watcher looked at the gateways throughout the update (${window.length} samples)`);
        assert.ok(starved.length <= samples.length / 4, `the host let the gateways keep up most of the time (${readiness})`);
        assert.ok(
          fewest >= replicas - 1,
          `at least ${replicas - 1} of ${replicas} gateways answered /readyz at every moment; below that: ${below(window, replicas - 1)}`,
        );
        const stayed = run.probes.filter((p) => before.has(p.node));
        assert.deepEqual(
          stayed.map((p) => `client ${p.index} on ${p.node}`),
          [],
          'every client moved off the gateways it was on (all of them were replaced)',
        );
        // Swarm says `completed` once the last new task has run for the update's `monitor` period.
        await eventually(async () => (await updateState(service)) === 'completed', {
          what: 'the update to complete (not roll back)',
          timeoutMs: MONITOR_TIMEOUT_MS,
          intervalMs: 500,
        });
        assert.deepEqual(await runningTaskImages(service), Array<string>(replicas).fill(nextImage), `every running task runs ${nextImage}`);
        assert.ok(longestReconnectMs(run) <= BACK_WITHIN_MS, `every dropped client was back within ${BACK_WITHIN_MS} ms`);
      } finally {
        await run.close();
      }
    },
  );

  test(
    `scaling to ${SCALE_UP_TO} gateways and back to ${SCALE_DOWN_TO} with clients chatting loses no line`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if ('cannot' in swarm) {
        t.skip(swarm.cannot);
        return;
      }
      const { service } = swarm;
      let gateways = await desiredReplicas(service);
      assert.ok(gateways < SCALE_UP_TO, `the service runs fewer than ${SCALE_UP_TO} gateways to start with (${gateways})`);
      const run = new ChaosRun(chaosTargetOf(swarm, () => gateways));
      try {
        await connectSpread(run, 2 * gateways, gateways);
        const rooms = Array.from({ length: 2 }, (_, i) => `scale-${process.pid}-${i}`);
        const groups = await dealIntoRooms(run.probes, rooms);
        const epochs = epochsOf(groups);
        run.startSending();
        await delay(STEADY_MS);

        run.log(`docker service scale ${service}=${SCALE_UP_TO}`);
        await within(
          docker('service', 'scale', `${service}=${SCALE_UP_TO}`),
          CONVERGE_PER_GATEWAY_MS * SCALE_UP_TO,
          `scaling to ${SCALE_UP_TO}`,
        );
        gateways = SCALE_UP_TO;
        await watch!.waitForReady(SCALE_UP_TO, READY_TIMEOUT_MS);
        assert.deepEqual(
          run.probes.filter((p) => p.reconnectMs.length > 0 || p.client.state !== 'open').map((p) => `client ${p.index}`),
          [],
          'scaling up dropped no one',
        );
        // New clients go to the new gateways (least connections): the balancer found them.
        const newcomers = await connectSpread(run, SCALE_UP_TO - SCALE_DOWN_TO, SCALE_UP_TO);
        const late = await dealIntoRooms(newcomers, rooms);

        run.log(`docker service scale ${service}=${SCALE_DOWN_TO}`);
        await within(
          docker('service', 'scale', `${service}=${SCALE_DOWN_TO}`),
          CONVERGE_PER_GATEWAY_MS * SCALE_UP_TO,
          `scaling to ${SCALE_DOWN_TO}`,
        );
        gateways = SCALE_DOWN_TO;
        await everyoneBack(run, `scaling to ${SCALE_DOWN_TO}`);
        await delay(STEADY_MS);
        const report = await settle(run, groups, epochs, late);

        const moved = run.probes.filter((p) => p.reconnectMs.length > 0).length;
        const line = `scale to ${SCALE_UP_TO} and back to ${SCALE_DOWN_TO}: ${figures(run, report)}, clients moved ${moved} of ${run.probes.length}`;
        run.writeReport(
          `scaling the gateway service to ${SCALE_UP_TO} and back to ${SCALE_DOWN_TO} (e2e/src/swarm.test.ts)`,
          report,
          SCALE_REPORT,
        );
        appendFileSync(SCALE_REPORT, `${line}\n`);
        console.error(line);

        const nodes = new Set(run.probes.map((p) => p.node));
        assert.ok(nodes.size <= SCALE_DOWN_TO, `every client is on one of the ${SCALE_DOWN_TO} gateways left (${[...nodes].join(', ')})`);
        assert.ok(moved > 0, 'scaling down moved the clients of the gateways it stopped');
        run.assertNothingLost(report);
        assert.ok(longestReconnectMs(run) <= BACK_WITHIN_MS, `every dropped client was back within ${BACK_WITHIN_MS} ms`);
      } finally {
        await run.close();
      }
    },
  );
});

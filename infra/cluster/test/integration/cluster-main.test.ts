import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { linesOf } from '@switchboard/testkit';

/** `npm run cluster` without its build step (the tests run after `npm run build`). */
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const UP_MS = 60_000;

/** The cluster runner in its own process group, as a terminal starts it (Ctrl-C reaches the whole group). */
function runCluster(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = linesOf(child.stdout, (line) => line);
  const err = linesOf(child.stderr, (line) => line);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out, err, exit };
}

describe('npm run cluster, as a person runs it', () => {
  it('says which setting to change when its port is in use, before it starts anything, and exits 1', async () => {
    const holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as AddressInfo).port;
    try {
      const cluster = runCluster({ LB_PORT: String(port) });
      assert.equal(await cluster.exit, 1);
      assert.equal(cluster.err.items.length, 1, `one sentence: ${cluster.err.items.join(' | ')}`);
      assert.match(
        cluster.err.items[0]!,
        new RegExp(`^cluster: port ${port} of 127\\.0\\.0\\.1 is in use .*: choose another with LB_PORT, e\\.g\\. `),
      );
      assert.deepEqual(cluster.out.items, [], 'nothing was started');
    } finally {
      holder.close();
    }
  });

  it('says "stopped" on Ctrl-C, which reaches HAProxy and the gateways too, and exits 0', async () => {
    const cluster = runCluster({ LB_PORT: '0', GATEWAYS: '1' });
    try {
      await cluster.out.waitFor((line) => line.startsWith('Switchboard is up'), UP_MS, 'the cluster to be up');
      process.kill(-cluster.child.pid!, 'SIGINT'); // the terminal's Ctrl-C: to the whole process group
      assert.equal(await cluster.exit, 0);
      assert.equal(cluster.out.items.at(-1), 'stopped');
      assert.deepEqual(cluster.err.items, [], 'no exit of HAProxy or a gateway reported as a failure');
    } finally {
      killGroup(cluster.child.pid!);
    }
  });

  it('takes HAProxy ending on SIGINT before the runner hears its own Ctrl-C as that Ctrl-C: "stopped", exit 0', async () => {
    const cluster = runCluster({ LB_PORT: '0', GATEWAYS: '1' });
    try {
      const line = await cluster.out.waitFor((l) => /^haproxy +http:\S+ +pid \d+$/.test(l), UP_MS, "HAProxy's pid");
      await cluster.out.waitFor((l) => l.startsWith('Switchboard is up'), UP_MS, 'the cluster to be up');
      process.kill(Number(/pid (\d+)$/.exec(line)![1]), 'SIGINT');
      assert.equal(await cluster.exit, 0);
      assert.equal(cluster.out.items.at(-1), 'stopped');
      assert.deepEqual(cluster.err.items, []);
    } finally {
      killGroup(cluster.child.pid!);
    }
  });
});

/** Whatever is left of a cluster's process group, once its test is done. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone, as it should be.
  }
}

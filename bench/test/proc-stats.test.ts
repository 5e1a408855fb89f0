import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { childPids, cpuSeconds, machineBusySeconds, parentPid, processGone, rssBytes } from '../src/proc-stats.js';

describe('proc-stats', () => {
  it('reads the CPU time this process has used, which only grows', () => {
    const before = cpuSeconds(process.pid);
    let x = 0;
    for (let i = 0; i < 1e6; i++) x += i;
    assert.ok(x > 0);
    assert.ok(cpuSeconds(process.pid) >= before);
  });

  it('reads a resident size of the same order as Node reports', () => {
    const rss = rssBytes(process.pid);
    const own = process.memoryUsage().rss;
    assert.ok(rss > own / 2 && rss < own * 2, `${rss} vs ${own}`);
  });

  it('reads the machine as at least as busy as this process', () => {
    assert.ok(machineBusySeconds() >= cpuSeconds(process.pid));
  });

  it('fails for a process that does not exist', () => {
    assert.throws(() => cpuSeconds(2 ** 30));
  });

  it('reads the parent pid of a stat line, whatever the command name holds', () => {
    assert.equal(parentPid('4242 (nginx) S 4200 4242 4242 0 -1 4194560 0 0'), 4200);
    assert.equal(parentPid('4243 (a) b (c) R 17 4243 1 0 -1'), 17);
  });

  it('finds the processes this one started, and tells when one is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      assert.ok(childPids(process.pid).includes(child.pid!));
      assert.equal(processGone(child.pid!), false);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    assert.equal(processGone(child.pid!), true);
    assert.equal(processGone(2 ** 30), true);
  });
});

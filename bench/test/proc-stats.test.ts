import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuSeconds, machineBusySeconds, rssBytes } from '../src/proc-stats.js';

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
});

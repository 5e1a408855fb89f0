import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFanout, type FanoutOptions } from '../src/scenarios/fanout.js';
import type { SystemUnderTest } from '../src/systems/system.js';

const OPTIONS: FanoutOptions = {
  clients: 3,
  nodes: 3,
  senders: 5,
  bytes: 64,
  rate: 3,
  warmupMs: 1_000,
  durationMs: 1_000,
  drainMs: 1_000,
  workers: 1,
};

describe('runFanout', () => {
  it('refuses more senders than clients before it starts anything, naming both flags', async () => {
    let started = false;
    const system: SystemUnderTest = {
      id: 'switchboard',
      name: 'Switchboard',
      client: 'ws-json',
      start: () => {
        started = true;
        return Promise.reject(new Error('not to be started'));
      },
    };
    await assert.rejects(runFanout(system, OPTIONS), {
      message: '5 senders but 3 clients: --senders must be at most --clients',
    });
    assert.equal(started, false);
  });
});

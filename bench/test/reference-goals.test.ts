import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REFERENCE_GOALS, compareWithReferences, goalText, summarizeComparisons, type CostFigures } from '../src/reference-goals.js';
import { referencesRoundsTable, referencesTable } from '../src/report.js';

const figures = (id: string, system: string, cpuPerMillion: number, p99Ms: number, lost = 0, strays?: number): CostFigures => ({
  id,
  system,
  cpuPerMillion,
  p99Ms,
  lost,
  ...(strays !== undefined && { strays }),
});

describe('Switchboard against the reference systems', () => {
  it('takes the CPU ratio against each reference of the fan-out, and says what missed', () => {
    const [vsSocketIo, vsNchan] = compareWithReferences(
      [
        figures('switchboard', 'Switchboard', 8, 27),
        figures('socketio', 'Socket.IO', 16, 87),
        figures('nchan', 'nchan', 6, 15),
        figures('naive', 'naive', 30, 40),
      ],
      REFERENCE_GOALS.fanout,
    );
    assert.equal(vsSocketIo!.reference, 'Socket.IO');
    assert.equal(vsSocketIo!.cpuRatio, 0.5);
    assert.deepEqual(vsSocketIo!.misses, []);
    assert.equal(vsNchan!.reference, 'nchan');
    assert.ok(Math.abs(vsNchan!.cpuRatio! - 8 / 6) < 1e-9);
    assert.deepEqual([vsNchan!.p99Ms, vsNchan!.referenceP99Ms], [27, 15]);
    assert.deepEqual(vsNchan!.misses, ['CPU 1.33x > 1.00x', 'p99 +12.0 ms']);
  });

  it('holds nchan within 2 ms of p99 and Socket.IO sharded at no worse p99, with nothing lost or strayed', () => {
    const [nchan] = compareWithReferences(
      [figures('switchboard', 'Switchboard', 5, 17), figures('nchan', 'nchan', 6, 15)],
      REFERENCE_GOALS.fanout.filter((g) => g.reference === 'nchan'),
    );
    assert.deepEqual(nchan!.misses, []);
    const [rooms] = compareWithReferences(
      [figures('switchboard-cluster', 'Switchboard, Cluster', 20, 30.5, 2, 1), figures('socketio-cluster', 'Socket.IO sharded', 50, 30)],
      REFERENCE_GOALS.rooms,
    );
    assert.deepEqual(rooms!.misses, ['p99 +0.5 ms', '2 lost', '1 strays']);
  });

  it('compares every Switchboard row, and says why a reference has no figures', () => {
    const comparisons = compareWithReferences(
      [
        figures('switchboard', 'Switchboard', 40, 20),
        figures('switchboard-cluster', 'Switchboard, Cluster', 45, 25),
        { id: 'socketio-cluster', system: 'Socket.IO sharded', error: 'failed: no cluster' },
      ],
      REFERENCE_GOALS.rooms,
    );
    assert.deepEqual(
      comparisons.map((c) => [c.system, c.reference, c.unmeasured]),
      [
        ['Switchboard', 'Socket.IO sharded', 'failed: no cluster'],
        ['Switchboard, Cluster', 'Socket.IO sharded', 'failed: no cluster'],
      ],
    );
    const [absent] = compareWithReferences([figures('switchboard', 'Switchboard', 8, 27)], REFERENCE_GOALS.fanout);
    assert.deepEqual([absent!.reference, absent!.unmeasured], ['socketio', 'not in this run']);
  });

  it('puts each goal in words', () => {
    assert.equal(goalText(REFERENCE_GOALS.fanout[0], false), 'CPU <= 0.50x, 0 lost');
    assert.equal(goalText(REFERENCE_GOALS.fanout[1], false), 'CPU <= 1.00x, p99 <= theirs + 2 ms, 0 lost');
    assert.equal(goalText(REFERENCE_GOALS.rooms[0], true), 'CPU <= 0.50x, p99 <= theirs, 0 lost, 0 strays');
  });

  it('sums rounds up as the medians and ranges of the ratios and p99s, and the rounds within the goal', () => {
    const round = (ours: number, p99: number) =>
      compareWithReferences([figures('switchboard', 'Switchboard', ours, p99), figures('nchan', 'nchan', 10, 15)], REFERENCE_GOALS.fanout);
    const [socketio, nchan] = summarizeComparisons([round(9, 16), round(12, 18), round(8, 20)]);
    assert.deepEqual([socketio!.rounds, socketio!.cpuRatio, socketio!.met], [0, undefined, 0]);
    assert.equal(nchan!.rounds, 3);
    assert.deepEqual(nchan!.cpuRatio, { median: 0.9, min: 0.8, max: 1.2 });
    assert.deepEqual(nchan!.p99Ms, { median: 18, min: 16, max: 20 });
    assert.equal(nchan!.met, 1);
  });

  it('prints a table per run and one over rounds', () => {
    const comparisons = compareWithReferences(
      [
        figures('switchboard', 'Switchboard', 8, 27),
        figures('socketio', 'Socket.IO', 16, 87),
        { id: 'nchan', system: 'nginx + nchan', error: 'NOT RUN: nginx not found' },
      ],
      REFERENCE_GOALS.fanout,
    );
    const text = referencesTable('Fan-out against the references', comparisons, false);
    // Below the header and its rule.
    const rows = text.split('\n').slice(4);
    assert.equal(rows.length, 2);
    assert.deepEqual(
      rows[0]!
        .split('|')
        .map((c) => c.trim())
        .slice(2),
      ['Socket.IO', '8.0 / 16.0', '0.50x', '27.0 / 87.0', 'CPU <= 0.50x, 0 lost', 'within', ''],
    );
    assert.match(rows[1]!, /nginx \+ nchan .*no figures: NOT RUN: nginx not found/);
    const rounds = referencesRoundsTable('Over 2 rounds', [comparisons, comparisons], false);
    assert.match(
      rounds,
      /\| Switchboard +\| +Socket\.IO +\| +2 \| +0\.50 \(0\.50-0\.50\) \| +27\.0 \(27\.0-27\.0\) \| +87\.0 \(87\.0-87\.0\) \| +CPU <= 0\.50x, 0 lost \| +2 of 2 \|/,
    );
  });
});

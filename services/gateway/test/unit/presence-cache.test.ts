import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoomInfo, RoomName } from '@switchboard/protocol';
import { eventually } from '@switchboard/testkit';
import { PresenceCache, type PresenceSource } from '../../src/hub/presence-cache.js';
import type { Members } from '../../src/sessions/session-registry.js';

/** A registry's presence that counts its reads and answers each when the test says. */
class FakePresence implements PresenceSource {
  readonly reads: string[] = [];
  private readonly pending: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  people = new Map<RoomName, string[]>();

  members(room: RoomName, max: number): Promise<Members> {
    this.reads.push(`members ${room} ${max}`);
    const names = [...(this.people.get(room) ?? [])];
    return this.later({ members: names.slice(0, max).map((n) => ({ id: n, nickname: n })), count: names.length });
  }

  rooms(max: number): Promise<readonly RoomInfo[]> {
    this.reads.push(`rooms ${max}`);
    return this.later([...this.people].map(([room, names]) => ({ room, count: names.length })).slice(0, max));
  }

  /** Answer every read under way (with what was true when it was made). */
  answerAll(): Promise<void> {
    for (const read of this.pending.splice(0)) read.resolve(undefined);
    return settle();
  }

  failAll(): Promise<void> {
    for (const read of this.pending.splice(0)) read.reject(new Error('redis away'));
    return settle();
  }

  private later<T>(value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.pending.push({ resolve: () => resolve(value), reject }));
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const nicknames = (m: Members) => m.members.map((x) => x.nickname);

function cacheOn(source: FakePresence, ttlMs = 1_000) {
  const clock = { now: 0 };
  const cache = new PresenceCache(source, { ttlMs, maxMembers: 200, maxRooms: 100, now: () => clock.now });
  return { cache, clock };
}

describe('PresenceCache', () => {
  it('answers every question asked while a read is under way, and for ttlMs after it, from that one read', async () => {
    const source = new FakePresence();
    source.people.set('dev', ['ada', 'bob']);
    const { cache, clock } = cacheOn(source);
    const asked = [cache.members('dev'), cache.members('dev'), cache.members('dev')];
    await source.answerAll();
    for (const answer of await Promise.all(asked)) assert.deepEqual(nicknames(answer), ['ada', 'bob']);
    clock.now += 999;
    const again = cache.members('dev');
    assert.deepEqual(source.reads, ['members dev 200'], 'one read for four questions');
    assert.deepEqual(nicknames(await again), ['ada', 'bob']);
    clock.now += 1;
    void cache.members('dev');
    assert.deepEqual(source.reads, ['members dev 200', 'members dev 200'], 'read again once ttlMs has passed');
  });

  it('keeps each room apart, and the room list apart from them', async () => {
    const source = new FakePresence();
    source.people.set('dev', ['ada']);
    source.people.set('ops', ['cy', 'dee']);
    const { cache } = cacheOn(source);
    const [dev, ops, rooms] = [cache.members('dev'), cache.members('ops'), cache.rooms()];
    await source.answerAll();
    assert.deepEqual(nicknames(await dev), ['ada']);
    assert.deepEqual(nicknames(await ops), ['cy', 'dee']);
    assert.deepEqual(await rooms, [
      { room: 'dev', count: 1 },
      { room: 'ops', count: 2 },
    ]);
    void cache.rooms();
    assert.deepEqual(source.reads, ['members dev 200', 'members ops 200', 'rooms 100']);
  });

  it("reads afresh after this node changed a room: the room's answer and the room list, not the others", async () => {
    const source = new FakePresence();
    source.people.set('dev', ['ada']);
    source.people.set('ops', ['cy']);
    const { cache } = cacheOn(source);
    void cache.members('dev');
    void cache.members('ops');
    void cache.rooms();
    await source.answerAll();
    source.people.set('dev', ['ada', 'bob']);
    cache.changed('dev');
    const dev = cache.members('dev');
    void cache.members('ops');
    void cache.rooms();
    await source.answerAll();
    assert.deepEqual(nicknames(await dev), ['ada', 'bob'], 'bob sees himself');
    assert.deepEqual(source.reads, ['members dev 200', 'members ops 200', 'rooms 100', 'members dev 200', 'rooms 100']);
  });

  it('does not keep a read that was under way when the room changed: it may predate the change', async () => {
    const source = new FakePresence();
    source.people.set('dev', ['ada']);
    const { cache } = cacheOn(source);
    const before = cache.members('dev'); // read, say, just before bob's join was written
    source.people.set('dev', ['ada', 'bob']);
    cache.changed('dev');
    const after = cache.members('dev');
    assert.equal(source.reads.length, 2, 'a question after the change does not wait for the read from before it');
    await source.answerAll();
    assert.deepEqual(nicknames(await before), ['ada'], 'the question from before gets the answer from before');
    assert.deepEqual(nicknames(await after), ['ada', 'bob']);
    void cache.members('dev');
    assert.equal(source.reads.length, 2, 'the read after the change is the one kept');
  });

  it('keeps no failed read: the questions under way fail, the next one reads again', async () => {
    const source = new FakePresence();
    const { cache } = cacheOn(source);
    const asked = [cache.members('dev'), cache.rooms()];
    await source.failAll();
    for (const answer of asked) await assert.rejects(answer, /redis away/);
    void cache.members('dev');
    void cache.rooms();
    assert.equal(source.reads.length, 4);
    assert.equal(cache.size, 2, 'only the reads under way');
  });

  it('with ttlMs 0, shares a read only while it is under way', async () => {
    const source = new FakePresence();
    const { cache } = cacheOn(source, 0);
    const both = [cache.members('dev'), cache.members('dev')];
    await source.answerAll();
    await Promise.all(both);
    void cache.members('dev');
    assert.equal(source.reads.length, 2);
    assert.equal(cache.size, 1, 'the read under way, nothing kept');
  });

  it('forgets answers once they expire: it holds only the rooms asked about lately', async () => {
    const source = new FakePresence();
    const cache = new PresenceCache(source, { ttlMs: 500, maxMembers: 200, maxRooms: 100 });
    for (let i = 0; i < 50; i++) void cache.members(`room-${i}`);
    await source.answerAll();
    assert.equal(cache.size, 50);
    await eventually(() => cache.size === 0, { timeoutMs: 5_000, what: 'every answer forgotten' });
  });
});

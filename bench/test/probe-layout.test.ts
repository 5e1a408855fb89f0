import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layOut, sharesPerLine } from '../src/probe-layout.js';

describe('model probe layout', () => {
  it("is room-plan.ts's without roles: rooms of 1 dealt over the gateways, each gateway publishing, hearing and delivering a third", () => {
    const plan = layOut({ nodes: 3, rooms: 960, clientsPerRoom: 1, roomNodes: 1 });
    assert.equal(plan.length, 960);
    for (const share of sharesPerLine(plan, 3, 960)) assert.deepEqual(share, { published: 1 / 3, heard: 1 / 3, deliveries: 1 / 3 });
  });

  it('puts the members of each room by roles: the sender on the first gateway, the others as asked', () => {
    const plan = layOut({ nodes: 3, rooms: 48, clientsPerRoom: 21, roomNodes: 1, membersPerGateway: [1, 1, 19] });
    assert.equal(plan.length, 48 * 21);
    assert.deepEqual(
      plan.filter((c) => c.room === 5).map((c) => [c.node, c.sender]),
      [[0, true], [1, false], ...Array.from({ length: 19 }, () => [2, false])],
    );
    assert.deepEqual(sharesPerLine(plan, 3, 48), [
      { published: 1, heard: 1, deliveries: 1 },
      { published: 0, heard: 1, deliveries: 1 },
      { published: 0, heard: 1, deliveries: 19 },
    ]);
  });

  it('refuses roles that do not add up to the room', () => {
    assert.throws(
      () => layOut({ nodes: 3, rooms: 1, clientsPerRoom: 20, roomNodes: 1, membersPerGateway: [1, 1, 19] }),
      /1\+1\+19 members per room/,
    );
    assert.throws(() => layOut({ nodes: 2, rooms: 1, clientsPerRoom: 3, roomNodes: 1, membersPerGateway: [1, 1, 1] }), /on 2 gateways/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRooms, roomName, roomsPerNode } from '../src/room-plan.js';

describe('room plan', () => {
  it('lists every room with its clients, the first ones sending', () => {
    const plan = planRooms({ rooms: 50, clientsPerRoom: 20, sendersPerRoom: 2, nodes: 3, roomNodes: 1 });
    assert.equal(plan.length, 1000);
    for (let room = 0; room < 50; room++) {
      const members = plan.filter((c) => c.room === room);
      assert.equal(members.length, 20);
      assert.deepEqual(
        members.map((c) => c.sender),
        members.map((_, j) => j < 2),
      );
    }
  });

  it('puts a whole room on one gateway and deals the rooms round-robin when rooms spread over one gateway', () => {
    const plan = planRooms({ rooms: 50, clientsPerRoom: 20, sendersPerRoom: 1, nodes: 3, roomNodes: 1 });
    for (let room = 0; room < 50; room++)
      assert.deepEqual(new Set(plan.filter((c) => c.room === room).map((c) => c.node)), new Set([room % 3]));
    assert.deepEqual(roomsPerNode(plan, 3), [17, 17, 16]);
  });

  it('spreads a room evenly over as many gateways as asked', () => {
    const plan = planRooms({ rooms: 4, clientsPerRoom: 6, sendersPerRoom: 1, nodes: 3, roomNodes: 2 });
    assert.deepEqual(
      plan.filter((c) => c.room === 2).map((c) => c.node),
      [2, 0, 2, 0, 2, 0],
    );
    assert.deepEqual(roomsPerNode(plan, 3), [3, 3, 2]); // rooms 0 and 3 on gateways 0 and 1, room 1 on 1 and 2, room 2 on 2 and 0
    const everywhere = planRooms({ rooms: 4, clientsPerRoom: 6, sendersPerRoom: 1, nodes: 3, roomNodes: 3 });
    assert.deepEqual(roomsPerNode(everywhere, 3), [4, 4, 4]);
  });

  it('names rooms by the protocol rules, from room-1', () => {
    assert.equal(roomName(0), 'room-1');
    assert.match(roomName(49), /^[a-z0-9_-]{1,32}$/);
  });

  it('refuses more senders than clients, more gateways than there are, and counts below one', () => {
    const base = { rooms: 2, clientsPerRoom: 3, sendersPerRoom: 1, nodes: 3, roomNodes: 1 };
    assert.throws(() => planRooms({ ...base, sendersPerRoom: 4 }), /4 senders per room, but only 3 clients per room/);
    assert.throws(() => planRooms({ ...base, roomNodes: 4 }), /spread over 4 gateways, but there are only 3/);
    assert.throws(() => planRooms({ ...base, rooms: 0 }), /rooms must be a whole number of at least 1 \(got 0\)/);
    assert.throws(() => planRooms({ ...base, clientsPerRoom: 2.5 }), /clientsPerRoom must be a whole number/);
  });
});

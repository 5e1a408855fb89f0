/**
 * Who is where in a model probe (scenarios/model.ts), and what each gateway does
 * for the lines: room-plan.ts's layout, or a layout by roles (`membersPerGateway`:
 * in every room, that many members on gateway 0, 1, 2..., the sender on the
 * first), so that in one run one gateway publishes, hears and delivers while
 * another only hears and delivers, to one member or to many.
 */
import { planRooms, type PlannedClient } from './room-plan.js';

export interface Layout {
  readonly nodes: number;
  readonly rooms: number;
  readonly clientsPerRoom: number;
  /** Gateways each room's members are spread over (room-plan.ts), unless membersPerGateway. */
  readonly roomNodes: number;
  /** In every room, the members on each gateway; the sender is on the first with any. */
  readonly membersPerGateway?: readonly number[];
}

/** Per line sent (all rooms at one rate), what each gateway does on average. */
export interface GatewayShare {
  /** Lines its clients publish. */
  readonly published: number;
  /** Lines of rooms it has members in (it hears each once). */
  readonly heard: number;
  /** Deliveries to its clients. */
  readonly deliveries: number;
}

/** Every client, room by room, one sender per room. */
export function layOut(l: Layout): PlannedClient[] {
  if (l.membersPerGateway === undefined)
    return planRooms({ nodes: l.nodes, rooms: l.rooms, clientsPerRoom: l.clientsPerRoom, roomNodes: l.roomNodes, sendersPerRoom: 1 });
  const counts = l.membersPerGateway;
  if (counts.length > l.nodes || counts.reduce((a, b) => a + b, 0) !== l.clientsPerRoom)
    throw new Error(`probe layout: ${counts.join('+')} members per room on ${l.nodes} gateways, but ${l.clientsPerRoom} clients per room`);
  const plan: PlannedClient[] = [];
  for (let room = 0; room < l.rooms; room++) {
    let first = true;
    counts.forEach((count, node) => {
      for (let j = 0; j < count; j++) {
        plan.push({ room, node, sender: first });
        first = false;
      }
    });
  }
  return plan;
}

/** Each gateway's share of the work of one line (lines are spread evenly over the rooms, and over each room's senders). */
export function sharesPerLine(plan: readonly PlannedClient[], nodes: number, rooms: number): GatewayShare[] {
  const senders = plan.filter((c) => c.sender).length;
  return Array.from({ length: nodes }, (_, node) => {
    const mine = plan.filter((c) => c.node === node);
    return {
      published: mine.filter((c) => c.sender).length / senders,
      heard: new Set(mine.map((c) => c.room)).size / rooms,
      deliveries: mine.length / rooms,
    };
  });
}

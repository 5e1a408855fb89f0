/**
 * Who is where in the rooms scenario: `rooms` rooms of `clientsPerRoom` clients
 * each, every room's members on `roomNodes` of the gateways (1: the whole room
 * on one gateway, as a room-aware load balancer would place it; the gateway
 * count: spread over all), the rooms dealt round-robin over the gateways, and
 * the first `sendersPerRoom` members of each room sending.
 */

export interface RoomPlanOptions {
  readonly rooms: number;
  readonly clientsPerRoom: number;
  readonly sendersPerRoom: number;
  /** Gateway processes. */
  readonly nodes: number;
  /** Gateways each room's members are spread over, 1 to `nodes`. */
  readonly roomNodes: number;
}

/** One client of the plan; the plan lists them room by room. */
export interface PlannedClient {
  /** Index of its room, 0 to rooms - 1 (its name: roomName()). */
  readonly room: number;
  /** Index of the gateway it connects to. */
  readonly node: number;
  readonly sender: boolean;
}

/** The room's name on the wire (`/join room-7`): valid by the protocol's room rules (a-z, 0-9, -). */
export function roomName(room: number): string {
  return `room-${room + 1}`;
}

/** Every client, room by room: room r's member j on gateway (r + j mod roomNodes) mod nodes. */
export function planRooms(o: RoomPlanOptions): PlannedClient[] {
  for (const [name, value] of Object.entries(o))
    if (!Number.isInteger(value) || value < 1) throw new Error(`room plan: ${name} must be a whole number of at least 1 (got ${value})`);
  if (o.sendersPerRoom > o.clientsPerRoom)
    throw new Error(`room plan: ${o.sendersPerRoom} senders per room, but only ${o.clientsPerRoom} clients per room`);
  if (o.roomNodes > o.nodes) throw new Error(`room plan: rooms spread over ${o.roomNodes} gateways, but there are only ${o.nodes}`);
  const plan: PlannedClient[] = [];
  for (let room = 0; room < o.rooms; room++)
    for (let j = 0; j < o.clientsPerRoom; j++)
      plan.push({ room, node: (room + (j % o.roomNodes)) % o.nodes, sender: j < o.sendersPerRoom });
  return plan;
}

/** How many distinct rooms have members on each gateway: the rooms a gateway serves, and so should hear of. */
export function roomsPerNode(plan: readonly PlannedClient[], nodes: number): number[] {
  const rooms = Array.from({ length: nodes }, () => new Set<number>());
  for (const client of plan) rooms[client.node]!.add(client.room);
  return rooms.map((set) => set.size);
}

import type { EventDraft, RoomInfo, RoomName } from '@switchboard/protocol';
import type { PublishResult, RecentLines } from '../bus/bus.js';
import type { DisconnectReport } from '../cluster/node-link.js';
import type { Members } from '../sessions/session-registry.js';

/**
 * What the backend API asks of its node: the node's bus, presence and link to
 * the other nodes, nothing more (Gateway.backend() gives it). The API never
 * touches a socket or Redis itself.
 */
export interface ApiBackend {
  /** Bus.publish: the event in its room, cluster-wide; a `once` key already published there is not sent again. */
  publish(draft: EventDraft, once?: string): Promise<PublishResult>;
  /** The rooms with people in them, the fullest first (what `/rooms` shows). */
  rooms(): Promise<readonly RoomInfo[]>;
  /** Who is in `room`, cluster-wide (what `/who` shows). */
  members(room: RoomName): Promise<Members>;
  /** The room's head and its last `count` chat lines (what a client joining it is sent). */
  recent(room: RoomName, count: number): Promise<RecentLines>;
  /** Close every connection of `user` on every node with 4011. */
  disconnect(user: string): Promise<DisconnectReport>;
  /** Chat lines a room keeps for newcomers (HISTORY_ON_JOIN): `/api/history` gives at most these. */
  readonly historyOnJoin: number;
}

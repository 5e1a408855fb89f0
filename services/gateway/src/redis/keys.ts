import type { ClientId, NodeId, RoomName, SessionToken } from '@switchboard/protocol';

/**
 * Switchboard's Redis key layout, in one place. Every key starts with the prefix
 * P (REDIS_PREFIX, default `switchboard`) so several clusters can share a Redis.
 *
 * Keys carry a hash tag (the part in braces), so that each script touches keys of
 * one slot only and the layout works on a Redis Cluster as on one Redis:
 *
 * Each room's stream, tag `{P:<room>}` (rooms spread over the shards):
 *   {P:r}:epoch               the current history's id (a new one when the history is lost)
 *   {P:r}:seq                 the last seq given out
 *   {P:r}:history             stream of events, entry id `0-<seq>`, fields t (ms) and e (event JSON)
 *   {P:r}:history-bytes       the bytes of event JSON the history holds (bounded by HISTORY_MAX_BYTES)
 *   {P:r}:recent              list of the room's last chat lines, newest first (HISTORY_ON_JOIN of them)
 *   {P:r}:events              the room's sharded pub/sub channel (SPUBLISH / SSUBSCRIBE)
 *   {P:r}:epochs              list of earlier epochs whose history the current one kept (after a rewind), `<epoch>:<seq>`
 *   {P:r}:released            the last seq published: readers see the history up to it (later ones wait for their replicas)
 *   {P:r}:refs:<client>       zset: the client's published refs in the room as `<epoch>|<ref>`, scored by their seq
 *   {P:r}:once                zset: the same for the `once` keys of notices (Bus.publish)
 *
 *   Every one of them expires (bus/room-stream-lua.ts). The stream's keys are made
 *   with a TTL and renewed by the nodes that serve the room: they go ROOM_TTL_MS
 *   after its last use (ROOM_HISTORY_TTL_MS once it had a chat line in its epoch).
 *   Refs go HISTORY_MAX_AGE_MS after their last write (at most ROOM_TTL_MS in a room
 *   with no chat line).
 *
 * Sessions, presence and nodes, tag `{P}` (one slot: the cluster's control plane):
 *   {P}:session:<token>       hash: id, nickname, nkey and nkeys (its name's keys), node, conn, grace, se, ss (where it began), room, moves,
 *                             since (its connection's), live (last live connection), dropped (while it waits)
 *   {P}:tomb:<token>          hash: id, nickname, live of an ended v2 session, for as long as the history lasts
 *   {P}:node-sessions:<node>  set of tokens held by a node's live connections
 *   {P}:detached              zset: token -> the time its grace ends
 *   {P}:resumed-from:<node>   set of tokens that dropped on a node and were resumed on another (the node takes them)
 *   {P}:nodes                 set of node ids;  {P}:lease:<node>  expires when a node stops renewing it
 *   {P}:nicks                 hash: nickname key (sessions/nickname-keys.ts: by case and look) -> the token of the session holding it,
 *                             or (identity on) 'u:<user>', whose sessions share the name
 *   {P}:user-names:<user>     set: tokens of the user's sessions that hold a name (each session's nkeys say which); a
 *                             gone session leaves it when read, and it expires with the last of its sessions' keys
 *   {P}:members:<room>        hash: token -> {"id","nickname"} of everyone in the room
 *   {P}:rooms                 zset: room -> how many are in it (rooms with no one are removed)
 *   {P}:outbox                zset: presence notices decided but not yet published, by time (see session-scripts.ts)
 *   {P}:summary               hash: "<room>\n<joined|left>" -> count, for rooms too big for a notice per person
 *                             and for moves past a room's budget of joined/left notices
 *   {P}:summary-turn          lives PRESENCE_SUMMARY_INTERVAL_MS after a node took the summaries: no other takes them meanwhile
 *   {P}:join-notices:<room>   hash: tokens, at: the room's budget of joined/left notices (expires once it would be full)
 *   {P}:guest-counter         N of AnonymousUser<N>
 *   {P}:node:<node>           pub/sub channel of requests to one node, and its answers (RedisNodeLink)
 *   {P}:all-nodes             pub/sub channel of requests to every node (RedisNodeLink: disconnect a user)
 *   {P}:probe:<node>          a short-lived key written to learn whether a full Redis has room again
 *
 * The delivery watchdog's channels (bus/shard-watchdog.ts), tag `{P:probe:<node>:<n>}`:
 *   {P:probe:<node>:<n>}:probe  a node's probe channel on one shard: the first n whose slot that shard owns
 *   {P}:stats:<node>, {P}:stats-nodes   the nodes' stats records (metrics/node-stats.ts)
 *
 * Scripts get the keys they touch as KEYS. The exceptions are keys named by data
 * the script itself reads (the node that holds a session, the room a session is
 * in, the session that holds a name, the nodes to sweep): those scripts get the tag-prefixed `{P}` and build them
 * with the same names as below; all of them live in the `{P}` slot.
 */
export class RedisKeys {
  /** `{P}`: the prefix of every session, presence and node key. */
  readonly control: string;
  readonly guestCounter: string;
  readonly detached: string;
  readonly nodes: string;
  readonly nicks: string;
  readonly rooms: string;
  readonly outbox: string;
  readonly summary: string;
  readonly summaryTurn: string;
  readonly statsIndex: string;

  constructor(readonly prefix: string) {
    this.control = `{${prefix}}`;
    this.guestCounter = `${this.control}:guest-counter`;
    this.detached = `${this.control}:detached`;
    this.nodes = `${this.control}:nodes`;
    this.nicks = `${this.control}:nicks`;
    this.rooms = `${this.control}:rooms`;
    this.outbox = `${this.control}:outbox`;
    this.summary = `${this.control}:summary`;
    this.summaryTurn = `${this.control}:summary-turn`;
    this.statsIndex = `${this.control}:stats-nodes`;
  }

  room(room: RoomName): RoomKeys {
    return new RoomKeys(`{${this.prefix}:${room}}`);
  }

  session(token: SessionToken): string {
    return `${this.control}:session:${token}`;
  }

  tomb(token: SessionToken): string {
    return `${this.control}:tomb:${token}`;
  }

  nodeSessions(node: NodeId): string {
    return `${this.control}:node-sessions:${node}`;
  }

  /** Sessions that dropped on `node` and were resumed on another: `node` stops counting them. */
  resumedFrom(node: NodeId): string {
    return `${this.control}:resumed-from:${node}`;
  }

  lease(node: NodeId): string {
    return `${this.control}:lease:${node}`;
  }

  members(room: RoomName): string {
    return `${this.control}:members:${room}`;
  }

  /** A small key a node writes to learn whether a full Redis has room again. */
  probe(node: NodeId): string {
    return `${this.control}:probe:${node}`;
  }

  /** Node `node`'s probe channel number `n` (the watchdog picks, per shard, the first n whose slot that shard owns). */
  shardProbe(node: NodeId, n: number): string {
    return `{${this.prefix}:probe:${node}:${n}}:probe`;
  }

  stats(node: NodeId): string {
    return `${this.control}:stats:${node}`;
  }

  nodeChannel(node: NodeId): string {
    return `${this.control}:node:${node}`;
  }

  /** The pub/sub channel every node listens on (requests to all of them). */
  get allNodesChannel(): string {
    return `${this.control}:all-nodes`;
  }
}

/** The keys of one room's stream, all in one slot (`{P:room}`). */
export class RoomKeys {
  readonly epoch: string;
  readonly seq: string;
  readonly history: string;
  readonly historyBytes: string;
  readonly recent: string;
  readonly channel: string;
  readonly epochs: string;
  readonly released: string;

  constructor(readonly tag: string) {
    this.epoch = `${tag}:epoch`;
    this.seq = `${tag}:seq`;
    this.history = `${tag}:history`;
    this.historyBytes = `${tag}:history-bytes`;
    this.recent = `${tag}:recent`;
    this.channel = `${tag}:events`;
    this.epochs = `${tag}:epochs`;
    this.released = `${tag}:released`;
  }

  /** What every script of the room's stream gets first, in this order (see bus/room-stream-lua.ts). */
  get stream(): [string, string, string, string, string, string, string, string] {
    return [this.epoch, this.seq, this.history, this.historyBytes, this.recent, this.channel, this.epochs, this.released];
  }

  refs(client: ClientId): string {
    return `${this.tag}:refs:${client}`;
  }

  /** The room's `once` keys (notices that more than one node may publish), as a client's refs. */
  get once(): string {
    return `${this.tag}:once`;
  }
}

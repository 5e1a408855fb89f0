import type { ClientId, NodeId, SessionToken } from '@switchboard/protocol';

/**
 * Switchboard's Redis key layout, in one place. Every key starts with the prefix
 * (REDIS_PREFIX, default `switchboard`) so several clusters can share one Redis.
 *
 *   <p>:epoch                 the current history's id (a new one when the history is lost)
 *   <p>:seq                   the last seq given out
 *   <p>:history               stream of events, entry id `0-<seq>`, fields t (ms) and e (event JSON)
 *   <p>:history-bytes         the bytes of event JSON the history holds (bounded by HISTORY_MAX_BYTES)
 *   <p>:events                the pub/sub channel every node subscribes to
 *   <p>:refs:<client>         zset: the client's published refs, scored by their seq (count-capped, expires with the history)
 *   <p>:guest-counter         N of AnonymousUser<N>
 *   <p>:session:<token>       hash: id, nickname, node, conn, grace, bye (its disconnect notice, encoded)
 *   <p>:tomb:<token>          hash: id, nickname of an ended v2 session, for as long as the history lasts
 *   <p>:node-sessions:<node>  set of tokens held by a node's live connections
 *   <p>:detached              zset: token -> the time its grace ends
 *   <p>:nodes                 set of node ids;  <p>:lease:<node>  expires when a node stops renewing it
 *   <p>:probe:<node>          a short-lived key written to learn whether a full Redis has room again
 *   <p>:node:<node>           pub/sub channel of requests to one node, and its answers (RedisNodeLink)
 *   <p>:stats:<node>          a node's stats record (JSON, for the dashboard), expires unless renewed every second
 *   <p>:stats-nodes           zset: node -> when it last wrote its stats record (an index of the above, pruned)
 *
 * Scripts get the keys they touch as KEYS. The exceptions are keys named by data
 * the script itself reads (the node that holds a session, the nodes to sweep):
 * those scripts get the prefix and build them with the same names as below.
 */
export class RedisKeys {
  readonly epoch: string;
  readonly seq: string;
  readonly history: string;
  readonly historyBytes: string;
  readonly channel: string;
  readonly guestCounter: string;
  readonly detached: string;
  readonly nodes: string;

  constructor(readonly prefix: string) {
    this.epoch = `${prefix}:epoch`;
    this.seq = `${prefix}:seq`;
    this.history = `${prefix}:history`;
    this.historyBytes = `${prefix}:history-bytes`;
    this.channel = `${prefix}:events`;
    this.guestCounter = `${prefix}:guest-counter`;
    this.detached = `${prefix}:detached`;
    this.nodes = `${prefix}:nodes`;
  }

  /** What every publishing script gets first, in this order (see lua-library.ts). */
  get stream(): [string, string, string, string, string] {
    return [this.epoch, this.seq, this.history, this.historyBytes, this.channel];
  }

  /** What a script that reads the history or renews its epoch gets. */
  get historyKeys(): [string, string, string, string] {
    return [this.epoch, this.seq, this.history, this.historyBytes];
  }

  refs(client: ClientId): string {
    return `${this.prefix}:refs:${client}`;
  }

  session(token: SessionToken): string {
    return `${this.prefix}:session:${token}`;
  }

  tomb(token: SessionToken): string {
    return `${this.prefix}:tomb:${token}`;
  }

  nodeSessions(node: NodeId): string {
    return `${this.prefix}:node-sessions:${node}`;
  }

  lease(node: NodeId): string {
    return `${this.prefix}:lease:${node}`;
  }

  /** A small key a node writes to learn whether a full Redis has room again. */
  probe(node: NodeId): string {
    return `${this.prefix}:probe:${node}`;
  }

  nodeChannel(node: NodeId): string {
    return `${this.prefix}:node:${node}`;
  }

  /** A node's stats record (metrics/redis-stats-store.ts). */
  stats(node: NodeId): string {
    return `${this.prefix}:stats:${node}`;
  }

  /** The nodes that wrote a stats record lately. */
  get statsIndex(): string {
    return `${this.prefix}:stats-nodes`;
  }
}

/** A connection's id, from nanoid: unique across the cluster, sent to clients as `id`. */
export type ClientId = string;

/** A gateway node's id (`NODE_ID`), sent in `welcome` as `node`. */
export type NodeId = string;

/** A display name chosen with `/nick`, or the default `AnonymousUser<N>`. */
export type Nickname = string;

/** A broadcast event's place in the cluster's one order: 1, 2, 3, ... within an epoch. */
export type Seq = number;

/** The id of one history; a new epoch means the old history (and its seqs) is gone. */
export type Epoch = string;

/** Protocol v2: the secret token that lets a client resume its session on any node. */
export type SessionToken = string;

/** Who a client is in the chat: its id and its current nickname. */
export interface Identity {
  readonly id: ClientId;
  readonly nickname: Nickname;
}

/** A connection's id, from nanoid: unique across the cluster, sent to clients as `id`. */
export type ClientId = string;

/** A gateway node's id (`NODE_ID`), sent in `welcome` as `node`. */
export type NodeId = string;

/** A display name chosen with `/nick`, or the default `AnonymousUser<N>`. */
export type Nickname = string;

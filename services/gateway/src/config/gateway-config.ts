import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { customAlphabet } from 'nanoid';
import { z } from 'zod';
import {
  HELLO_TIMEOUT_MS,
  HISTORY_MAX_AGE_MS,
  HISTORY_MAX_BYTES,
  HISTORY_ON_JOIN,
  MAX_ROOMS,
  PRESENCE_NOTICE_LIMIT,
  PRESENCE_SUMMARY_INTERVAL_MS,
  HISTORY_MAX_EVENTS,
  JOIN_BURST,
  JOIN_NOTICE_BURST,
  JOIN_NOTICE_RATE_PER_SEC,
  JOIN_RATE_PER_SEC,
  MAX_BUFFERED_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_SEC,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  PRESENCE_QUERY_BURST,
  PRESENCE_QUERY_RATE_PER_SEC,
  REFS_PER_CLIENT,
  RESUME_GRACE_MS,
  RESUME_LIVE_MS,
  RESUME_MAX_BYTES,
  RESUME_MAX_EVENTS,
  type ClientLimits,
} from '@switchboard/protocol';
import {
  helpText as helpFor,
  hostPort,
  integer,
  kind,
  list,
  oneOf,
  port,
  readSettings,
  schemaOf,
  setting,
  text,
  url,
  type ReadmeTable,
} from '@switchboard/config';
import { BUILT_PAGE_URL } from '@switchboard/web';
import type { MinReplicasAck } from '../redis/replica-counts.js';
import { KEEPALIVES_PER_TTL, ROOM_TTL_MARGIN_MS, roomLifetimes } from '../bus/room-lifetimes.js';
import { addressRanges } from '../upgrade/address.js';
import { allowedOrigins } from '../upgrade/origin.js';
import { certificateFile, privateKeyFile, tlsPairProblem } from './tls-files.js';
import { algorithmProblem, jwtAlgorithm, publicKeyFile } from '../auth/jwt-algorithms.js';
import { keySourceOf } from '../auth/auth-config.js';
import { JWKS_COOLDOWN_MS } from '../auth/jose-token-verifier.js';

export { ConfigError } from '@switchboard/config';

/** The bundled page's folder (packages/web, built into its dist/public): PUBLIC_DIR's default. */
export const BUNDLED_PUBLIC_DIR = fileURLToPath(BUILT_PAGE_URL);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting of a gateway node, in the order of `--help` and the README table.
 * The one place to add one: the Config type, validation, defaults, `--help` and
 * the README table (`npm run docs:config`) all come from here.
 */
export const SETTINGS = {
  port: setting({
    env: 'PORT',
    kind: port(),
    default: 8080,
    doc: 'TCP port for HTTP and WebSocket (`0` picks a free one)',
  }),
  host: setting({
    env: 'HOST',
    kind: text(),
    default: '0.0.0.0',
    doc: 'address the public port (HTTP and WebSocket) listens on; the metrics server has its own, `METRICS_HOST`',
  }),
  /** Both set: HTTPS and WSS on PORT (http/tls.ts). Behind a load balancer that ends TLS, neither. */
  tlsCert: setting({
    env: 'TLS_CERT',
    kind: certificateFile(),
    defaultDoc: 'unset (plain HTTP)',
    doc: 'PEM file of the certificate (then any intermediates): HTTPS and WSS on `PORT`, plain HTTP refused. Set with `TLS_KEY`, or neither',
  }),
  tlsKey: setting({
    env: 'TLS_KEY',
    kind: privateKeyFile(),
    defaultDoc: 'unset',
    doc: "PEM file of the certificate's private key, unencrypted. A key that is not the certificate's: exit 2",
  }),
  hstsMaxAgeSeconds: setting({
    env: 'HSTS_MAX_AGE_SECONDS',
    kind: integer(0, 63_072_000),
    default: 31_536_000,
    unit: 's',
    doc: 'with TLS: `Strict-Transport-Security: max-age` of every HTTPS answer, seconds (a year; `0` tells browsers to forget it). Never sent over plain HTTP',
  }),
  metricsPort: setting({
    env: 'METRICS_PORT',
    kind: port(),
    defaultDoc: 'unset (off)',
    doc: 'TCP port of the metrics server: `/metrics` (Prometheus), `/cluster.json`, `/events` and the live dashboard at `/`, on `METRICS_HOST`, never on the public port (`0` picks a free one). Unset: no metrics server',
  }),
  /** Not HOST: the metrics server has no authentication, so it stays on this machine unless asked. */
  metricsHost: setting({
    env: 'METRICS_HOST',
    kind: text(),
    default: '127.0.0.1',
    doc: "address the metrics server listens on. It has no authentication: the default keeps it on this machine; set `0.0.0.0` only where a private network reaches it (docker-compose.yml does, for Prometheus and the balancer's admin listener)",
  }),
  /** Unset: no backend API (`/api/*` answers 404). Several, comma-separated: any one is accepted (rotation). */
  apiKey: setting({
    env: 'API_KEY',
    kind: list(),
    defaultDoc: 'unset (no API)',
    doc: "the backend API's keys, comma-separated (several while one is rotated out). Set: `/api/*` on the metrics server (`METRICS_PORT`, which it then requires), each request carrying `Authorization: Bearer KEY` (another key: 401). Unset: `/api/*` is 404. Never logged",
  }),
  apiMaxBodyBytes: setting({
    env: 'API_MAX_BODY_BYTES',
    kind: integer(256, 1024 * 1024),
    default: 16 * 1024,
    unit: 'bytes',
    doc: 'largest request body the backend API reads. Past it: 413, and the body is not read further',
  }),
  apiIdempotencyTtlMs: setting({
    env: 'API_IDEMPOTENCY_TTL_MS',
    kind: integer(1_000, 86_400_000),
    default: 300_000,
    unit: 'ms',
    doc: "how long `POST /api/publish` with an `Idempotency-Key` answers a retry of that key (to any node) with the first answer and delivers nothing again, ms. The cluster keeps the key with the room's refs: at most `HISTORY_MAX_AGE_MS` and `REFS_PER_CLIENT` keys per room; past it a retry is a new line",
  }),
  /** Unset: the in-memory bus (one node). Set: Redis pub/sub (a cluster). */
  redisUrl: setting({
    env: 'REDIS_URL',
    kind: url(['redis', 'rediss']),
    doc: '`redis://host:port/db`. Unset (and no `REDIS_CLUSTER` or `REDIS_SENTINELS`): one node, in-memory bus. Set: Redis pub/sub, a cluster',
  }),
  /** Instead of REDIS_URL: a Redis Cluster, by some of its nodes (the client finds the rest). */
  redisCluster: setting({
    env: 'REDIS_CLUSTER',
    kind: list(hostPort()),
    defaultDoc: 'unset',
    doc: 'a Redis Cluster instead of one Redis: `host:port,host:port,...`, some of its masters (the others are found). Rooms spread over its shards; sessions and presence live on one. Not with `REDIS_URL` or `REDIS_SENTINELS`',
  }),
  /** Instead of REDIS_URL: one Redis with replicas, whose master Redis Sentinel names (and names again after a failover). */
  redisSentinels: setting({
    env: 'REDIS_SENTINELS',
    kind: list(hostPort()),
    defaultDoc: 'unset',
    doc: 'one Redis with replicas watched by Redis Sentinel, instead of `REDIS_URL`: `host:port,host:port,...`, some of the Sentinels (any one that answers names the master). After a failover every connection moves to the promoted replica; one still on a demoted master leaves it at its first `READONLY`. Not with `REDIS_URL` or `REDIS_CLUSTER`',
  }),
  redisSentinelName: setting({
    env: 'REDIS_SENTINEL_NAME',
    kind: text(),
    default: 'switchboard',
    doc: 'with `REDIS_SENTINELS`: the name the Sentinels monitor the master by (`sentinel monitor <name> ...`). A name they do not know: the gateway keeps asking, not ready',
  }),
  redisSentinelPassword: setting({
    env: 'REDIS_SENTINEL_PASSWORD',
    kind: text(),
    defaultDoc: 'unset (no AUTH)',
    doc: "with `REDIS_SENTINELS`: the Sentinels' own password (their `requirepass`), which may differ from the servers'",
  }),
  redisPassword: setting({
    env: 'REDIS_PASSWORD',
    kind: text(),
    defaultDoc: 'unset (no AUTH)',
    doc: "the Redis servers' password (`requirepass`): the Sentinel-named master's, or every Cluster node's. With `REDIS_URL`, a password in the URL wins",
  }),
  redisMinReplicasAck: setting({
    env: 'REDIS_MIN_REPLICAS_ACK',
    kind: kind('auto or a whole number from 0 to 16', (error) =>
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^(auto|\d{1,2})$/, { error })
        .transform((v) => (v === 'auto' ? ('auto' as const) : Number(v)))
        .refine((v) => v === 'auto' || v <= 16, { error }),
    ),
    default: 'auto' as MinReplicasAck,
    unit: 'replicas',
    doc: 'replicas a published line must reach (Redis `WAIT`) before it is acknowledged (its echo or `ack`): Redis replicates asynchronously, and a line its replica lacks is lost when the replica is promoted. `auto`: 1 on a shard that has a replica (or had one within `REPLICA_FORGET_MS`), 0 on one without; a number: exactly that many on every shard (`0`: never wait). Short of them within `REDIS_WAIT_TIMEOUT_MS`, the line is refused with `BUS_UNAVAILABLE` and the client resends it (same `ref`: it is stored once). Costs, per line and only where replicas are waited for, the acknowledgement of a replica and two round trips more (the WAIT, then the publish after it); a line not yet on its replicas is not read from the history either',
  }),
  redisWaitTimeoutMs: setting({
    env: 'REDIS_WAIT_TIMEOUT_MS',
    kind: integer(1, 60_000),
    default: 1_000,
    unit: 'ms',
    doc: "the longest a published line waits for its replicas (`REDIS_MIN_REPLICAS_ACK`), ms. Waited in `WAIT`s of at most 100 ms, the shard's replicas counted again between them (a promoted replica, which has none, stops the wait once counted). Past it: refused with `BUS_UNAVAILABLE` (the client resends), and until a line reaches them again the shard's other lines are refused at once rather than queued behind the wait",
  }),
  replicaForgetMs: setting({
    env: 'REPLICA_FORGET_MS',
    kind: integer(0, 3_600_000),
    default: 30_000,
    unit: 'ms',
    doc: 'how long a Redis master that had a replica is still waited on as if it had one after the replica went (dropped, or froze), ms: lines on its shard are refused meanwhile, not silently acknowledged unreplicated. Past it, lines are acknowledged without a replica (`REDIS_MIN_REPLICAS_ACK` `auto`)',
  }),
  redisPrefix: setting({
    env: 'REDIS_PREFIX',
    kind: text(),
    default: 'switchboard',
    doc: 'prefix of Redis keys and the channel, so clusters can share a Redis',
  }),
  topologyRefreshIntervalMs: setting({
    env: 'TOPOLOGY_REFRESH_INTERVAL_MS',
    kind: integer(100, 600_000),
    default: 3_000,
    unit: 'ms',
    doc: "Redis Cluster: how often each node reads the cluster's slots again (beside whenever its publisher meets `MOVED`, `READONLY`, `TRYAGAIN` or `CLUSTERDOWN`, or refreshes its slots): a room whose slot moved (a failover, a reshard) is subscribed again on its new master and caught up from its history. Longer: a failover nobody publishes through is noticed later (the watchdog still catches it within `SHARD_PROBE_TIMEOUT_MS`)",
  }),
  shardProbeIntervalMs: setting({
    env: 'SHARD_PROBE_INTERVAL_MS',
    kind: integer(50, 600_000),
    default: 1_000,
    unit: 'ms',
    doc: 'how often each node publishes a probe on each Redis shard (one Redis: on it) and listens for it on its own subscriber: the delivery watchdog. Each costs one small publish per shard',
  }),
  shardProbeTimeoutMs: setting({
    env: 'SHARD_PROBE_TIMEOUT_MS',
    kind: integer(100, 600_000),
    default: 3_000,
    unit: 'ms',
    doc: "how long a shard's probe, or a room's own published line, may take to come back through the node's subscriber. Past it: the shard is not heard: `/readyz` 503 naming it, `switchboard_shard_up{shard}` 0, and the node mends (reads the topology again, subscribes its rooms again, then a new subscriber) until it is heard, then every room catches up from its history. At least twice `SHARD_PROBE_INTERVAL_MS`; generous, so that a slow node is not taken for a deaf one",
  }),
  nodeName: setting({
    env: 'NODE_NAME',
    kind: text(),
    default: () => hostname(),
    defaultDoc: "the hostname; in a Docker container whose hostname is its id, its name from Docker's DNS (`switchboard-gateway-2`)",
    doc: "a readable name for this node: the start of its `NODE_ID`, what logs, the dashboard's legend and `/cluster.json` show",
  }),
  nodeId: setting({
    env: 'NODE_ID',
    kind: text(),
    defaultDoc: '`<NODE_NAME>-<random>`',
    doc: "this node's id, unique in the cluster (a restarted node is a new one), sent in `welcome` and in every log line",
  }),
  publicDir: setting({
    env: 'PUBLIC_DIR',
    kind: text(),
    default: BUNDLED_PUBLIC_DIR,
    defaultDoc: 'the bundled page',
    doc: "folder served at `/` (its `index.html` and static files). The bundled page gets a strict Content-Security-Policy; any other folder only `frame-ancestors 'self'` (see Security)",
  }),
  pageTokenUrl: setting({
    env: 'PAGE_TOKEN_URL',
    kind: text(),
    defaultDoc: 'unset (the page connects without a token)',
    doc: 'identity on: a path of the application\'s, on the page\'s own origin (`/auth/chat-token`), that the bundled page calls with its cookies (`credentials: \'include\'`) for `{"token"}` before each connection and before the token expires. Given to the page in a `<meta>` tag of `/`. No token (an error, or no `token`): the page shows "Sign-in required" (with why, when it is not a 401 or 403: the status, not JSON, no `token`, unreachable) and tries again',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    kind: oneOf(LOG_LEVELS),
    default: 'info',
    doc: `${LOG_LEVELS.map((level) => `\`${level}\``).join(', ')}. At \`info\` a connection writes one line, when it closes (who, from where, how long); \`debug\` adds its steps (opened, joined, renamed, moved, left)`,
  }),
  allowedOrigins: setting({
    env: 'ALLOWED_ORIGINS',
    kind: allowedOrigins(),
    defaultDoc: 'same origin',
    doc: "pages that may open a WebSocket here, by their `Origin`: `*` (any), or a list such as `https://chat.example.com` (exactly those; list the page's own origin too). Unset: only a page whose origin's host[:port] is the request's `Host`. An upgrade without `Origin` (not a browser) is accepted. Others: HTTP 403 before the upgrade",
  }),
  maxConnections: setting({
    env: 'MAX_CONNECTIONS',
    kind: integer(1, 10_000_000),
    default: 10_000,
    unit: 'connections',
    doc: 'WebSocket connections this node holds at most. Past it: HTTP 503 before the upgrade (HAProxy retries another node)',
  }),
  maxConnectionsPerIp: setting({
    env: 'MAX_CONNECTIONS_PER_IP',
    kind: integer(1, 10_000_000),
    default: 50,
    unit: 'connections',
    doc: 'connections one client address (an IPv6 address: its /64) holds at most on this node, counting its v2 sessions that dropped here and wait for a resume. At it, a new upgrade ends the oldest of those sessions (as if its grace had run out) to make room; with none: HTTP 429 before the upgrade',
  }),
  connectionRatePerIp: setting({
    env: 'CONNECTION_RATE_PER_IP',
    kind: integer(1, 1_000_000),
    default: 10,
    unit: 'connections/s',
    doc: 'new connections per second one client address may open on this node, sustained (this also bounds its hellos and resumes). Past the burst: HTTP 429 with `Retry-After`',
  }),
  connectionBurstPerIp: setting({
    env: 'CONNECTION_BURST_PER_IP',
    kind: integer(1, 1_000_000),
    default: 20,
    unit: 'connections',
    doc: 'new connections one client address may open at once before `CONNECTION_RATE_PER_IP` applies',
  }),
  trustedProxies: setting({
    env: 'TRUSTED_PROXIES',
    kind: addressRanges(),
    defaultDoc: 'none',
    doc: "addresses and networks (`10.0.0.0/8`, `::1`) of proxies whose `X-Forwarded-For` gives the client address (the right-most address in it that is not a trusted proxy). Unset: the client address is the TCP peer's, and `X-Forwarded-For` is ignored",
  }),
  headersTimeoutMs: setting({
    env: 'HEADERS_TIMEOUT_MS',
    kind: integer(1_000, 600_000),
    default: 10_000,
    unit: 'ms',
    doc: 'time a client has to send a complete HTTP request (its headers: the gateway takes no request bodies), WebSocket upgrades included, ms. Past it: the connection is closed (slowloris)',
  }),
  maxMessageBytes: setting({
    env: 'MAX_MESSAGE_BYTES',
    kind: integer(1, 1024 * 1024),
    default: MAX_MESSAGE_BYTES,
    unit: 'bytes',
    doc: 'largest client frame, bytes. Past it: closed with 1009, never broadcast',
  }),
  pingIntervalMs: setting({
    env: 'PING_INTERVAL_MS',
    kind: integer(10, 3_600_000),
    default: PING_INTERVAL_MS,
    unit: 'ms',
    doc: 'how often each client is pinged, ms',
  }),
  pongTimeoutMs: setting({
    env: 'PONG_TIMEOUT_MS',
    kind: integer(10, 3_600_000),
    default: PONG_TIMEOUT_MS,
    unit: 'ms',
    doc: 'a client silent this long (no pong, no frame), ms, is dropped and the cluster told it disconnected; time the node itself was behind (event loop lag) does not count. Must exceed `PING_INTERVAL_MS`',
  }),
  maxBufferedBytes: setting({
    env: 'MAX_BUFFERED_BYTES',
    kind: integer(1024, 1024 * 1024 * 1024),
    default: MAX_BUFFERED_BYTES,
    unit: 'bytes',
    doc: 'per-client outbound buffer budget, bytes. Past it: a slow consumer, closed with 4001; nobody else waits for it',
  }),
  messageRatePerSec: setting({
    env: 'MESSAGE_RATE_PER_SEC',
    kind: integer(1, 1_000_000),
    default: MESSAGE_RATE_PER_SEC,
    unit: 'frames/s',
    doc: 'sustained frames per second per client. Past the burst: each extra frame gets an `error` `RATE_LIMITED` and is not broadcast',
  }),
  messageBurst: setting({
    env: 'MESSAGE_BURST',
    kind: integer(1, 1_000_000),
    default: MESSAGE_BURST,
    unit: 'frames',
    doc: 'frames a client may send at once before the rate applies',
  }),
  joinRatePerSec: setting({
    env: 'JOIN_RATE_PER_SEC',
    kind: integer(1, 1_000_000),
    default: JOIN_RATE_PER_SEC,
    unit: 'joins/s',
    doc: "sustained joins (`/join`, v2 `join`) per second per client, within `MESSAGE_RATE_PER_SEC`: each costs a session script, two notices and the new room's recent lines. Past the burst: an `error` `RATE_LIMITED` with `retryAfterMs`, and the join is not done",
  }),
  joinBurst: setting({
    env: 'JOIN_BURST',
    kind: integer(1, 1_000_000),
    default: JOIN_BURST,
    unit: 'joins',
    doc: 'joins a client may make at once before `JOIN_RATE_PER_SEC` applies',
  }),
  presenceQueryRatePerSec: setting({
    env: 'PRESENCE_QUERY_RATE_PER_SEC',
    kind: integer(1, 1_000_000),
    default: PRESENCE_QUERY_RATE_PER_SEC,
    unit: 'questions/s',
    doc: 'sustained `/who` and `/rooms` (together) per second per client, within `MESSAGE_RATE_PER_SEC`. Past the burst: an `error` `RATE_LIMITED` with `retryAfterMs`, and no answer',
  }),
  presenceQueryBurst: setting({
    env: 'PRESENCE_QUERY_BURST',
    kind: integer(1, 1_000_000),
    default: PRESENCE_QUERY_BURST,
    unit: 'questions',
    doc: 'presence questions a client may ask at once before `PRESENCE_QUERY_RATE_PER_SEC` applies',
  }),
  writeCoalesceMs: setting({
    env: 'WRITE_COALESCE_MS',
    kind: integer(0, 1_000),
    default: 20,
    unit: 'ms',
    doc: 'while events keep coming, the least time between two writes to a client, ms (`0`: a write every turn of the event loop). Events that arrive meanwhile go out together in one write (one WebSocket frame each, or one v2 batch): each waits at most this long, and a busy node makes far fewer system calls. Meanwhile the node does not read from Redis either: what arrives waits in the kernel and is read just before the next write, so a busy node wakes up once per interval, not once per event (a Redis connection that brought more than 32 KiB in the last interval is read as it comes). A quiet node (one that has not written in the last two intervals) writes at once and never pauses its reads: a lone line crosses it with no coalescing delay',
  }),
  maxEventLoopLagMs: setting({
    env: 'MAX_EVENT_LOOP_LAG_MS',
    kind: integer(0, 60_000),
    default: 500,
    unit: 'ms',
    doc: 'how far behind its event loop may fall before the node is overloaded, ms (`0`: never). Past it: `/readyz` says 503 and new upgrades get 503 (the load balancer sends clients elsewhere) until the lag stays under half of it for a second; connected clients keep being served',
  }),
  shutdownTimeoutMs: setting({
    env: 'SHUTDOWN_TIMEOUT_MS',
    kind: integer(0, 600_000),
    default: 10_000,
    unit: 'ms',
    doc: 'on SIGTERM/SIGINT, the longest wait for clients and Redis to close, ms; then the process exits 0 anyway',
  }),
  drainDelayMs: setting({
    env: 'DRAIN_DELAY_MS',
    kind: integer(0, 600_000),
    default: 3_000,
    unit: 'ms',
    doc: 'on SIGTERM, how long `/readyz` says 503 before clients are closed with 1012, ms',
  }),
  resumeGraceMs: setting({
    env: 'RESUME_GRACE_MS',
    kind: integer(0, 86_400_000),
    default: RESUME_GRACE_MS,
    unit: 'ms',
    doc: 'protocol v2: how long a dropped session can be resumed on any node, ms. Past it: one `NICK has disconnected`',
  }),
  resumeLiveMs: setting({
    env: 'RESUME_LIVE_MS',
    kind: integer(0, 86_400_000),
    default: RESUME_LIVE_MS,
    unit: 'ms',
    doc: 'protocol v2: how long a connection must hold its session to be live, ms (at most half of `RESUME_GRACE_MS`). Its drop then gives a full `RESUME_GRACE_MS`; a shorter connection (a hello and a drop) leaves the session only what was left of its grace, so resuming never holds a name or room longer than one grace after the last live connection. 0: every connection is live',
  }),
  resumeMaxEvents: setting({
    env: 'RESUME_MAX_EVENTS',
    kind: integer(1, 10_000_000),
    default: RESUME_MAX_EVENTS,
    unit: 'events',
    doc: 'protocol v2: most events replayed to one resuming client. Further behind: `resumed: false` and live events',
  }),
  resumeMaxBytes: setting({
    env: 'RESUME_MAX_BYTES',
    kind: integer(1_024, 1024 * 1024 * 1024),
    default: RESUME_MAX_BYTES,
    unit: 'bytes',
    doc: 'protocol v2: most bytes of events replayed to one resuming client (keep it below MAX_BUFFERED_BYTES). Further behind: `resumed: false` and live events',
  }),
  helloTimeoutMs: setting({
    env: 'HELLO_TIMEOUT_MS',
    kind: integer(10, 600_000),
    default: HELLO_TIMEOUT_MS,
    unit: 'ms',
    doc: 'protocol v2: time to send `hello`, ms. Past it: closed with 4003',
  }),
  historyMaxEvents: setting({
    env: 'HISTORY_MAX_EVENTS',
    kind: integer(1, 10_000_000),
    default: HISTORY_MAX_EVENTS,
    unit: 'events',
    doc: 'events kept for resume and gap repair. Older: trimmed; a resume from before them gets `resumed: false`',
  }),
  historyMaxAgeMs: setting({
    env: 'HISTORY_MAX_AGE_MS',
    kind: integer(1_000, 30 * 86_400_000),
    default: HISTORY_MAX_AGE_MS,
    unit: 'ms',
    doc: 'oldest event kept in the history, ms',
  }),
  historyMaxBytes: setting({
    env: 'HISTORY_MAX_BYTES',
    kind: integer(1_024, 1024 * 1024 * 1024),
    default: HISTORY_MAX_BYTES,
    unit: 'bytes',
    doc: 'bytes of events (encoded JSON) kept in the history. Past it: the oldest are trimmed, as past HISTORY_MAX_EVENTS',
  }),
  historyOnJoin: setting({
    env: 'HISTORY_ON_JOIN',
    kind: integer(0, 1_000),
    default: HISTORY_ON_JOIN,
    unit: 'lines',
    doc: "chat lines of a room sent, marked `history: true`, after `welcome` and after a join (`0`: none). They are the room's last ones; older lines are not kept for this",
  }),
  /** Unset: derived (bus/room-lifetimes.ts); the config's value is always a number. */
  roomTtlMs: setting({
    env: 'ROOM_TTL_MS',
    kind: integer(100, 30 * 86_400_000),
    defaultDoc: `\`RESUME_GRACE_MS\` + ${ROOM_TTL_MARGIN_MS} (\`${RESUME_GRACE_MS + ROOM_TTL_MARGIN_MS}\`)`,
    unit: 'ms',
    doc: `how long a room nobody uses is kept when it had no chat line in its epoch (only joins and notices), ms, counted from its last use (when its last member left, a dropped v2 session's too); the nodes serving a room renew it every \`ROOM_TTL_MS\`/${KEEPALIVES_PER_TTL}. Past it: its Redis keys expire (with no Redis: the node forgets it), and a room that comes back starts a new \`epoch\` at \`seq\` 0. Must exceed \`RESUME_GRACE_MS\`, so that a session resuming into its room finds it`,
  }),
  roomHistoryTtlMs: setting({
    env: 'ROOM_HISTORY_TTL_MS',
    kind: integer(100, 30 * 86_400_000),
    defaultDoc: 'the longer of `HISTORY_MAX_AGE_MS` and `ROOM_TTL_MS`',
    unit: 'ms',
    doc: 'how long a room nobody uses is kept when it had chat lines in its epoch: its history and its last `HISTORY_ON_JOIN` lines, ms, counted from its last use. Past it: forgotten as past `ROOM_TTL_MS`. At least `ROOM_TTL_MS`',
  }),
  maxRooms: setting({
    env: 'MAX_ROOMS',
    kind: integer(1, 1_000_000),
    default: MAX_ROOMS,
    unit: 'rooms',
    doc: 'rooms with people in them, cluster-wide. Past it: a `/join` to a new room gets `error` `ROOM_LIMIT` (the lobby is always open)',
  }),
  presenceNoticeLimit: setting({
    env: 'PRESENCE_NOTICE_LIMIT',
    kind: integer(0, 10_000_000),
    default: PRESENCE_NOTICE_LIMIT,
    unit: 'members',
    doc: 'members of a room past which its comings and goings are not announced one by one but summed up (`12 people joined, 3 left`) every `PRESENCE_SUMMARY_INTERVAL_MS`: a crowd joining costs linear work',
  }),
  presenceSummaryIntervalMs: setting({
    env: 'PRESENCE_SUMMARY_INTERVAL_MS',
    kind: integer(100, 600_000),
    default: PRESENCE_SUMMARY_INTERVAL_MS,
    unit: 'ms',
    doc: 'how often a room past `PRESENCE_NOTICE_LIMIT` hears the sum of its comings and goings, ms',
  }),
  joinNoticeRatePerSec: setting({
    env: 'JOIN_NOTICE_RATE_PER_SEC',
    kind: integer(1, 1_000_000),
    default: JOIN_NOTICE_RATE_PER_SEC,
    unit: 'notices/s',
    doc: "`joined` and `left` notices one room gets per second, cluster-wide, sustained, whoever moves. Past the burst: a move is not announced one by one but counted into the room's next summary (`3 people joined, 2 left`, every `PRESENCE_SUMMARY_INTERVAL_MS`), so clients flapping between rooms cost each member a bounded number of notices a second",
  }),
  joinNoticeBurst: setting({
    env: 'JOIN_NOTICE_BURST',
    kind: integer(1, 1_000_000),
    default: JOIN_NOTICE_BURST,
    unit: 'notices',
    doc: '`joined` and `left` notices one room may get at once before `JOIN_NOTICE_RATE_PER_SEC` applies',
  }),
  presenceCacheMs: setting({
    env: 'PRESENCE_CACHE_MS',
    kind: integer(0, 60_000),
    default: 1_000,
    unit: 'ms',
    doc: "how long a node answers `/who` (a room's members) and `/rooms` from one read of the cluster's presence, ms: one read per room per interval, shared by every client of the node that asks (`0`: a read per question, shared only while under way). A move made on this node is seen at once by its clients; one made on another node within this long",
  }),
  refsPerClient: setting({
    env: 'REFS_PER_CLIENT',
    kind: integer(10, 1_000_000),
    default: REFS_PER_CLIENT,
    unit: 'refs',
    doc: 'protocol v2: refs remembered per client to de-duplicate retries (at most as long as the history). Past it: the oldest are forgotten first; a client must not have more frames than this awaiting their acknowledgement',
  }),
  authJwtSecret: setting({
    env: 'AUTH_JWT_SECRET',
    kind: text(),
    defaultDoc: 'unset (identity off)',
    doc: 'identity on, tokens signed with HS256 and this shared secret (at least 32 bytes advised). Every connection then needs a valid token (query `token`, `Authorization: Bearer`, or v2 `hello`); a missing or bad one: HTTP 401 before the upgrade. One key source only: with `AUTH_JWT_PUBLIC_KEY` or `AUTH_JWKS_URL`, exit 2',
  }),
  authJwtPublicKey: setting({
    env: 'AUTH_JWT_PUBLIC_KEY',
    kind: publicKeyFile(),
    defaultDoc: 'unset',
    doc: 'identity on, tokens verified with the PEM public key in this file (RSA: RS256, EC: ES256; see `AUTH_JWT_ALGORITHMS`). One key source only',
  }),
  authJwksUrl: setting({
    env: 'AUTH_JWKS_URL',
    kind: url(['https', 'http']),
    defaultDoc: 'unset',
    doc: 'identity on, tokens verified with the keys of this JWKS document (by `kid`); fetched once and cached, fetched again when a token names an unknown `kid`, at most every 30 s. One key source only',
  }),
  authJwtAlgorithms: setting({
    env: 'AUTH_JWT_ALGORITHMS',
    kind: list(jwtAlgorithm()),
    defaultDoc: "the key's own: HS256 for a secret, RS256 or ES256 for a public key (by its type), RS256 and ES256 for a JWKS",
    doc: 'the signing algorithms accepted, an explicit allow-list; `none` never is. An HMAC algorithm with a public key (or the reverse): exit 2',
  }),
  authJwtIssuer: setting({
    env: 'AUTH_JWT_ISSUER',
    kind: text(),
    defaultDoc: 'unset (not checked)',
    doc: 'the `iss` a token must carry; another one: HTTP 401',
  }),
  authJwtAudience: setting({
    env: 'AUTH_JWT_AUDIENCE',
    kind: text(),
    defaultDoc: 'unset (not checked)',
    doc: 'the `aud` a token must carry (or list); another one: HTTP 401',
  }),
  authJwksCooldownMs: setting({
    env: 'AUTH_JWKS_COOLDOWN_MS',
    kind: integer(0, 3_600_000),
    default: JWKS_COOLDOWN_MS,
    unit: 'ms',
    doc: 'with `AUTH_JWKS_URL`: a token naming an unknown `kid` makes the JWKS be fetched again at most this often, ms (a flood of made-up `kid`s costs one fetch per interval)',
  }),
  authExpiryGraceMs: setting({
    env: 'AUTH_EXPIRY_GRACE_MS',
    kind: integer(0, 3_600_000),
    default: 25_000,
    unit: 'ms',
    doc: 'how long a connection may stay after its token expired, waiting for a `refresh`, ms. Past it: closed with 4010 `TOKEN_EXPIRED` (checked at each heartbeat tick, so up to `PING_INTERVAL_MS` later)',
  }),
  leaseTtlMs: setting({
    env: 'LEASE_TTL_MS',
    kind: integer(100, 600_000),
    default: 5_000,
    unit: 'ms',
    doc: 'a node that has not renewed its lease for this long is dead; a live node takes over its sessions, ms',
  }),
  sweepIntervalMs: setting({
    env: 'SWEEP_INTERVAL_MS',
    kind: integer(10, 600_000),
    default: 1_000,
    unit: 'ms',
    doc: 'how often each node looks for dead nodes and ended grace periods, ms',
  }),
};

/** The README's configuration table (`npm run docs:config`). */
export const README_TABLE: ReadmeTable = { source: 'services/gateway/src/config/gateway-config.ts', settings: SETTINGS };

/** The settings' object, with the rules that tie settings together. */
const configSchema = schemaOf(SETTINGS).check((ctx) => {
  const tls = tlsPairProblem(ctx.value.tlsCert, ctx.value.tlsKey, SETTINGS.tlsCert.env, SETTINGS.tlsKey.env);
  if (tls !== undefined) ctx.issues.push({ code: 'custom', input: ctx.value, message: tls });
  const redis = (['redisUrl', 'redisCluster', 'redisSentinels'] as const).filter((key) => ctx.value[key] !== undefined);
  if (redis.length > 1) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `set ${redis.map((key) => SETTINGS[key].env).join(' or ')}, not ${redis.length === 2 ? 'both' : 'more than one'}`,
    });
  }
  const sources = [
    [SETTINGS.authJwtSecret.env, ctx.value.authJwtSecret],
    [SETTINGS.authJwtPublicKey.env, ctx.value.authJwtPublicKey],
    [SETTINGS.authJwksUrl.env, ctx.value.authJwksUrl],
  ].filter(([, value]) => value !== undefined);
  if (sources.length > 1) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `set one token key source, not ${sources.map(([env]) => env).join(' and ')}`,
    });
  }
  const source = keySourceOf(ctx.value);
  if (sources.length === 1 && source !== undefined && ctx.value.authJwtAlgorithms !== undefined) {
    const problem = algorithmProblem(source, ctx.value.authJwtAlgorithms);
    if (problem !== undefined)
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `${SETTINGS.authJwtAlgorithms.env} ${problem}` });
  }
  const { pingIntervalMs, pongTimeoutMs } = ctx.value;
  if (pongTimeoutMs <= pingIntervalMs) {
    const [pong, ping] = [SETTINGS.pongTimeoutMs.env, SETTINGS.pingIntervalMs.env];
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${pong} (${pongTimeoutMs}) must be greater than ${ping} (${pingIntervalMs})`,
    });
  }
  const { shardProbeIntervalMs, shardProbeTimeoutMs } = ctx.value;
  if (shardProbeTimeoutMs < 2 * shardProbeIntervalMs) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${SETTINGS.shardProbeTimeoutMs.env} (${shardProbeTimeoutMs}) must be at least twice ${SETTINGS.shardProbeIntervalMs.env} (${shardProbeIntervalMs})`,
    });
  }
  const { resumeGraceMs, roomTtlMs, roomHistoryTtlMs } = ctx.value;
  if (roomTtlMs !== undefined && roomTtlMs <= resumeGraceMs) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${SETTINGS.roomTtlMs.env} (${roomTtlMs}) must be greater than ${SETTINGS.resumeGraceMs.env} (${resumeGraceMs}): a session resuming into its room would find it forgotten`,
    });
  }
  const tokenUrl = ctx.value.pageTokenUrl;
  if (tokenUrl !== undefined && !/^\/(?!\/)\S*$/.test(tokenUrl)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${SETTINGS.pageTokenUrl.env} must be a path on the page's own origin, such as /auth/chat-token (the page's Content-Security-Policy lets it fetch only from there), got "${tokenUrl}"`,
    });
  }
  if (ctx.value.apiKey !== undefined && ctx.value.metricsPort === undefined) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${SETTINGS.apiKey.env} needs ${SETTINGS.metricsPort.env}: the backend API is served on the metrics server, never on the public port`,
    });
  }
  const lifetimes = roomLifetimes(ctx.value);
  if (roomHistoryTtlMs !== undefined && roomHistoryTtlMs < lifetimes.roomTtlMs) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${SETTINGS.roomHistoryTtlMs.env} (${roomHistoryTtlMs}) must be at least ${SETTINGS.roomTtlMs.env} (${lifetimes.roomTtlMs})`,
    });
  }
});

/**
 * The random end of a default NODE_ID: letters and digits only, so that the
 * node's name is everything before its last `-` (what `docker kill` is given in e2e).
 */
const nodeSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 6);

/** The settings as read, with what follows from them filled in: the node's id, the rooms' lifetimes when unset (bus/room-lifetimes.ts). */
const resolvedSchema = configSchema.transform((config) => ({
  ...config,
  nodeId: config.nodeId ?? `${config.nodeName}-${nodeSuffix()}`,
  ...roomLifetimes(config),
}));

/** Everything a gateway node can be told: one field per entry of SETTINGS. */
export type Config = Readonly<z.output<typeof resolvedSchema>>;

/**
 * Read the configuration: defaults first, then environment variables (an empty
 * one counts as unset), then command-line flags (`--port 9000` or `--port=9000`).
 * Throws ConfigError naming the setting when a value is bad. Returns 'help' for
 * `--help` or `-h`.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config | 'help' {
  return readSettings(SETTINGS, resolvedSchema, argv, env);
}

/** The configuration of a node given no setting at all. */
export function defaultConfig(): Config {
  return resolvedSchema.parse({});
}

/** `--help`. */
export function helpText(): string {
  return helpFor('switchboard-gateway [options]', SETTINGS);
}

/** The limits a client must respect on a node with this configuration, as sent in `welcome`. */
export function clientLimits(config: Config): ClientLimits {
  return {
    maxMessageBytes: config.maxMessageBytes,
    messageRatePerSec: config.messageRatePerSec,
    messageBurst: config.messageBurst,
    maxNicknameLength: MAX_NICKNAME_LENGTH,
  };
}

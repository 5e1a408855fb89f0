import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nanoid } from 'nanoid';
import type { z } from 'zod';
import {
  HELLO_TIMEOUT_MS,
  HISTORY_MAX_AGE_MS,
  HISTORY_MAX_BYTES,
  HISTORY_MAX_EVENTS,
  MAX_BUFFERED_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_SEC,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  REFS_PER_CLIENT,
  RESUME_GRACE_MS,
  RESUME_MAX_BYTES,
  RESUME_MAX_EVENTS,
  type ClientLimits,
} from '@switchboard/protocol';
import { helpText as helpFor } from './config/docs.js';
import { integer, oneOf, port, text, url } from './config/kinds.js';
import { readSettings } from './config/read.js';
import { schemaOf, setting } from './config/setting.js';

export { ConfigError } from './config/read.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting of a gateway node, in the order of `--help` and the README table.
 * The one place to add one: the Config type, validation, defaults, `--help` and
 * the README table (`npm run docs:config`) all come from here.
 */
export const SETTINGS = {
  port: setting({
    env: 'PORT', kind: port(), default: 8080,
    doc: 'TCP port for HTTP and WebSocket (`0` picks a free one)',
  }),
  host: setting({
    env: 'HOST', kind: text(), default: '0.0.0.0',
    doc: 'address to listen on',
  }),
  metricsPort: setting({
    env: 'METRICS_PORT', kind: port(), defaultDoc: 'unset (off)',
    doc: 'TCP port of the metrics server: `/metrics` (Prometheus), `/cluster.json`, `/events` and the live dashboard at `/`, on `HOST`, never on the public port (`0` picks a free one). Unset: no metrics server',
  }),
  /** Unset: the in-memory bus (one node). Set: Redis pub/sub (a cluster). */
  redisUrl: setting({
    env: 'REDIS_URL', kind: url(['redis', 'rediss']),
    doc: '`redis://host:port/db`. Unset: one node, in-memory bus. Set: Redis pub/sub, a cluster',
  }),
  redisPrefix: setting({
    env: 'REDIS_PREFIX', kind: text(), default: 'switchboard',
    doc: 'prefix of Redis keys and the channel, so clusters can share a Redis',
  }),
  nodeId: setting({
    env: 'NODE_ID', kind: text(), default: () => `${hostname()}-${nanoid(6)}`, defaultDoc: '`<hostname>-<random>`',
    doc: "this node's id, sent in `welcome` and in every log line",
  }),
  publicDir: setting({
    env: 'PUBLIC_DIR', kind: text(), default: fileURLToPath(new URL('../public', import.meta.url)), defaultDoc: 'the bundled page',
    doc: 'folder served at `/` (its `index.html` and static files)',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL', kind: oneOf(LOG_LEVELS), default: 'info',
    doc: LOG_LEVELS.map((level) => `\`${level}\``).join(', '),
  }),
  maxMessageBytes: setting({
    env: 'MAX_MESSAGE_BYTES', kind: integer(1, 1024 * 1024), default: MAX_MESSAGE_BYTES, unit: 'bytes',
    doc: 'largest client frame, bytes. Past it: closed with 1009, never broadcast',
  }),
  pingIntervalMs: setting({
    env: 'PING_INTERVAL_MS', kind: integer(10, 3_600_000), default: PING_INTERVAL_MS, unit: 'ms',
    doc: 'how often each client is pinged, ms',
  }),
  pongTimeoutMs: setting({
    env: 'PONG_TIMEOUT_MS', kind: integer(10, 3_600_000), default: PONG_TIMEOUT_MS, unit: 'ms',
    doc: 'a client silent this long (no pong, no frame), ms, is dropped and the cluster told it disconnected. Must exceed `PING_INTERVAL_MS`',
  }),
  maxBufferedBytes: setting({
    env: 'MAX_BUFFERED_BYTES', kind: integer(1024, 1024 * 1024 * 1024), default: MAX_BUFFERED_BYTES, unit: 'bytes',
    doc: 'per-client outbound buffer budget, bytes. Past it: a slow consumer, closed with 4001; nobody else waits for it',
  }),
  messageRatePerSec: setting({
    env: 'MESSAGE_RATE_PER_SEC', kind: integer(1, 1_000_000), default: MESSAGE_RATE_PER_SEC, unit: 'frames/s',
    doc: 'sustained frames per second per client. Past the burst: each extra frame gets an `error` `RATE_LIMITED` and is not broadcast',
  }),
  messageBurst: setting({
    env: 'MESSAGE_BURST', kind: integer(1, 1_000_000), default: MESSAGE_BURST, unit: 'frames',
    doc: 'frames a client may send at once before the rate applies',
  }),
  maxEventLoopLagMs: setting({
    env: 'MAX_EVENT_LOOP_LAG_MS', kind: integer(0, 60_000), default: 500, unit: 'ms',
    doc: 'how far behind its event loop may fall before the node is overloaded, ms (`0`: never). Past it: `/readyz` says 503 and new upgrades get 503 (the load balancer sends clients elsewhere) until the lag stays under half of it for a second; connected clients keep being served',
  }),
  shutdownTimeoutMs: setting({
    env: 'SHUTDOWN_TIMEOUT_MS', kind: integer(0, 600_000), default: 10_000, unit: 'ms',
    doc: 'on SIGTERM/SIGINT, the longest wait for clients and Redis to close, ms; then the process exits 0 anyway',
  }),
  drainDelayMs: setting({
    env: 'DRAIN_DELAY_MS', kind: integer(0, 600_000), default: 3_000, unit: 'ms',
    doc: 'on SIGTERM, how long `/readyz` says 503 before clients are closed with 1012, ms',
  }),
  resumeGraceMs: setting({
    env: 'RESUME_GRACE_MS', kind: integer(0, 86_400_000), default: RESUME_GRACE_MS, unit: 'ms',
    doc: 'protocol v2: how long a dropped session can be resumed on any node, ms. Past it: one `NICK has disconnected`',
  }),
  resumeMaxEvents: setting({
    env: 'RESUME_MAX_EVENTS', kind: integer(1, 10_000_000), default: RESUME_MAX_EVENTS, unit: 'events',
    doc: 'protocol v2: most events replayed to one resuming client. Further behind: `resumed: false` and live events',
  }),
  resumeMaxBytes: setting({
    env: 'RESUME_MAX_BYTES', kind: integer(1_024, 1024 * 1024 * 1024), default: RESUME_MAX_BYTES, unit: 'bytes',
    doc: 'protocol v2: most bytes of events replayed to one resuming client (keep it below MAX_BUFFERED_BYTES). Further behind: `resumed: false` and live events',
  }),
  helloTimeoutMs: setting({
    env: 'HELLO_TIMEOUT_MS', kind: integer(10, 600_000), default: HELLO_TIMEOUT_MS, unit: 'ms',
    doc: 'protocol v2: time to send `hello`, ms. Past it: closed with 4003',
  }),
  historyMaxEvents: setting({
    env: 'HISTORY_MAX_EVENTS', kind: integer(1, 10_000_000), default: HISTORY_MAX_EVENTS, unit: 'events',
    doc: 'events kept for resume and gap repair. Older: trimmed; a resume from before them gets `resumed: false`',
  }),
  historyMaxAgeMs: setting({
    env: 'HISTORY_MAX_AGE_MS', kind: integer(1_000, 30 * 86_400_000), default: HISTORY_MAX_AGE_MS, unit: 'ms',
    doc: 'oldest event kept in the history, ms',
  }),
  historyMaxBytes: setting({
    env: 'HISTORY_MAX_BYTES', kind: integer(1_024, 1024 * 1024 * 1024), default: HISTORY_MAX_BYTES, unit: 'bytes',
    doc: 'bytes of events (encoded JSON) kept in the history. Past it: the oldest are trimmed, as past HISTORY_MAX_EVENTS',
  }),
  refsPerClient: setting({
    env: 'REFS_PER_CLIENT', kind: integer(10, 1_000_000), default: REFS_PER_CLIENT, unit: 'refs',
    doc: 'protocol v2: refs remembered per client to de-duplicate retries (at most as long as the history). Past it: the oldest are forgotten first; a client must not have more frames than this awaiting their acknowledgement',
  }),
  leaseTtlMs: setting({
    env: 'LEASE_TTL_MS', kind: integer(100, 600_000), default: 5_000, unit: 'ms',
    doc: 'a node that has not renewed its lease for this long is dead; a live node takes over its sessions, ms',
  }),
  sweepIntervalMs: setting({
    env: 'SWEEP_INTERVAL_MS', kind: integer(10, 600_000), default: 1_000, unit: 'ms',
    doc: 'how often each node looks for dead nodes and ended grace periods, ms',
  }),
};

/** The settings' object, with the rules that tie settings together. */
const configSchema = schemaOf(SETTINGS).check((ctx) => {
  const { pingIntervalMs, pongTimeoutMs } = ctx.value;
  if (pongTimeoutMs <= pingIntervalMs) {
    const [pong, ping] = [SETTINGS.pongTimeoutMs.env, SETTINGS.pingIntervalMs.env];
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `${pong} (${pongTimeoutMs}) must be greater than ${ping} (${pingIntervalMs})`,
    });
  }
});

/** Everything a gateway node can be told: one field per entry of SETTINGS. */
export type Config = Readonly<z.output<typeof configSchema>>;

/**
 * Read the configuration: defaults first, then environment variables (an empty
 * one counts as unset), then command-line flags (`--port 9000` or `--port=9000`).
 * Throws ConfigError naming the setting when a value is bad. Returns 'help' for
 * `--help` or `-h`.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config | 'help' {
  return readSettings(SETTINGS, configSchema, argv, env);
}

/** The configuration of a node given no setting at all. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** `--help`. */
export function helpText(): string {
  return helpFor('switchboard-gateway', SETTINGS);
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

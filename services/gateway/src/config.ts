import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nanoid } from 'nanoid';
import {
  HELLO_TIMEOUT_MS,
  HISTORY_MAX_AGE_MS,
  HISTORY_MAX_EVENTS,
  MAX_BUFFERED_BYTES,
  MAX_MESSAGE_BYTES,
  MESSAGE_BURST,
  MESSAGE_RATE_PER_SEC,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  RESUME_GRACE_MS,
  RESUME_MAX_EVENTS,
} from '@switchboard/protocol';

/** Everything a gateway node can be told. Each field is one setting in SETTINGS below. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: the in-memory bus (one node). Set: Redis pub/sub (a cluster). */
  readonly redisUrl: string | undefined;
  readonly redisPrefix: string;
  readonly nodeId: string;
  readonly publicDir: string;
  readonly logLevel: string;
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly messageRatePerSec: number;
  readonly messageBurst: number;
  readonly shutdownTimeoutMs: number;
  readonly drainDelayMs: number;
  readonly resumeGraceMs: number;
  readonly resumeMaxEvents: number;
  readonly helloTimeoutMs: number;
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  readonly leaseTtlMs: number;
  readonly sweepIntervalMs: number;
}

/** A bad setting: main prints the message and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Setting<K extends keyof Config = keyof Config> {
  readonly key: K;
  readonly env: string;
  readonly flag: string;
  /** Shown in --help and the README; undefined means "unset". */
  readonly defaultText: string;
  readonly help: string;
  readonly parse: (raw: string, name: string) => Config[K];
  readonly fallback: () => Config[K];
}

const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS: readonly Setting[] = [
  setting({
    key: 'port', env: 'PORT', flag: '--port', defaultText: '8080',
    help: 'TCP port for HTTP and WebSocket (0 picks a free port).',
    parse: (raw, name) => integer(raw, name, 0, 65535), fallback: () => 8080,
  }),
  setting({
    key: 'host', env: 'HOST', flag: '--host', defaultText: '0.0.0.0',
    help: 'Address to listen on.',
    parse: (raw, name) => nonEmpty(raw, name), fallback: () => '0.0.0.0',
  }),
  setting({
    key: 'redisUrl', env: 'REDIS_URL', flag: '--redis-url', defaultText: '(unset: in-memory bus)',
    help: 'Redis URL (redis://host:port/db). Unset runs one node with the in-memory bus.',
    parse: (raw, name) => redisUrl(raw, name), fallback: () => undefined,
  }),
  setting({
    key: 'redisPrefix', env: 'REDIS_PREFIX', flag: '--redis-prefix', defaultText: 'switchboard',
    help: 'Prefix of every Redis key and channel, so several clusters can share one Redis.',
    parse: (raw, name) => nonEmpty(raw, name), fallback: () => 'switchboard',
  }),
  setting({
    key: 'nodeId', env: 'NODE_ID', flag: '--node-id', defaultText: '<hostname>-<random>',
    help: 'This node\'s id, sent to clients in `welcome` and in every log line.',
    parse: (raw, name) => nonEmpty(raw, name), fallback: () => `${hostname()}-${nanoid(6)}`,
  }),
  setting({
    key: 'publicDir', env: 'PUBLIC_DIR', flag: '--public-dir', defaultText: '(the bundled page)',
    help: 'Folder served at `/`: its index.html and static files.',
    parse: (raw, name) => nonEmpty(raw, name), fallback: () => DEFAULT_PUBLIC_DIR,
  }),
  setting({
    key: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', defaultText: 'info',
    help: `Log level: ${LOG_LEVELS.join(', ')}.`,
    parse: (raw, name) => oneOf(raw, name, LOG_LEVELS), fallback: () => 'info',
  }),
  setting({
    key: 'maxMessageBytes', env: 'MAX_MESSAGE_BYTES', flag: '--max-message-bytes',
    defaultText: String(MAX_MESSAGE_BYTES),
    help: 'Largest client frame in bytes; a larger one closes the connection with 1009 and is not broadcast.',
    parse: (raw, name) => integer(raw, name, 1, 1024 * 1024), fallback: () => MAX_MESSAGE_BYTES,
  }),
  setting({
    key: 'pingIntervalMs', env: 'PING_INTERVAL_MS', flag: '--ping-interval-ms',
    defaultText: String(PING_INTERVAL_MS),
    help: 'How often each client is pinged, in milliseconds.',
    parse: (raw, name) => integer(raw, name, 10, 3_600_000), fallback: () => PING_INTERVAL_MS,
  }),
  setting({
    key: 'pongTimeoutMs', env: 'PONG_TIMEOUT_MS', flag: '--pong-timeout-ms',
    defaultText: String(PONG_TIMEOUT_MS),
    help: 'A client silent this long (no pong, no frame), in milliseconds, is dropped; must exceed PING_INTERVAL_MS.',
    parse: (raw, name) => integer(raw, name, 10, 3_600_000), fallback: () => PONG_TIMEOUT_MS,
  }),
  setting({
    key: 'maxBufferedBytes', env: 'MAX_BUFFERED_BYTES', flag: '--max-buffered-bytes',
    defaultText: String(MAX_BUFFERED_BYTES),
    help: 'Per-client outbound buffer budget in bytes; a client past it is closed with 4001 (slow consumer).',
    parse: (raw, name) => integer(raw, name, 1024, 1024 * 1024 * 1024), fallback: () => MAX_BUFFERED_BYTES,
  }),
  setting({
    key: 'messageRatePerSec', env: 'MESSAGE_RATE_PER_SEC', flag: '--message-rate-per-sec',
    defaultText: String(MESSAGE_RATE_PER_SEC),
    help: 'Sustained frames per second per client; past the burst, extra frames get an `error` (RATE_LIMITED) and are not broadcast.',
    parse: (raw, name) => integer(raw, name, 1, 1_000_000), fallback: () => MESSAGE_RATE_PER_SEC,
  }),
  setting({
    key: 'messageBurst', env: 'MESSAGE_BURST', flag: '--message-burst', defaultText: String(MESSAGE_BURST),
    help: 'Frames a client may send at once before MESSAGE_RATE_PER_SEC applies.',
    parse: (raw, name) => integer(raw, name, 1, 1_000_000), fallback: () => MESSAGE_BURST,
  }),
  setting({
    key: 'shutdownTimeoutMs', env: 'SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', defaultText: '10000',
    help: 'On SIGTERM/SIGINT, the longest wait for clients and Redis to close before exiting, in milliseconds.',
    parse: (raw, name) => integer(raw, name, 0, 600_000), fallback: () => 10_000,
  }),
  setting({
    key: 'drainDelayMs', env: 'DRAIN_DELAY_MS', flag: '--drain-delay-ms', defaultText: '3000',
    help: 'On SIGTERM, how long /readyz says 503 (so the load balancer stops routing here) before clients are closed with 1012, in ms.',
    parse: (raw, name) => integer(raw, name, 0, 600_000), fallback: () => 3_000,
  }),
  setting({
    key: 'resumeGraceMs', env: 'RESUME_GRACE_MS', flag: '--resume-grace-ms', defaultText: String(RESUME_GRACE_MS),
    help: 'Protocol v2: how long a dropped session can be resumed on any node, in ms; past it the cluster hears one disconnect notice.',
    parse: (raw, name) => integer(raw, name, 0, 86_400_000), fallback: () => RESUME_GRACE_MS,
  }),
  setting({
    key: 'resumeMaxEvents', env: 'RESUME_MAX_EVENTS', flag: '--resume-max-events', defaultText: String(RESUME_MAX_EVENTS),
    help: 'Protocol v2: most events replayed to one resuming client; one further behind gets resumed:false and live events.',
    parse: (raw, name) => integer(raw, name, 1, 10_000_000), fallback: () => RESUME_MAX_EVENTS,
  }),
  setting({
    key: 'helloTimeoutMs', env: 'HELLO_TIMEOUT_MS', flag: '--hello-timeout-ms', defaultText: String(HELLO_TIMEOUT_MS),
    help: 'Protocol v2: how long a new connection has to send hello, in ms; past it, closed with 4003.',
    parse: (raw, name) => integer(raw, name, 10, 600_000), fallback: () => HELLO_TIMEOUT_MS,
  }),
  setting({
    key: 'historyMaxEvents', env: 'HISTORY_MAX_EVENTS', flag: '--history-max-events', defaultText: String(HISTORY_MAX_EVENTS),
    help: 'Events kept for resume and gap repair; older ones are trimmed (a resume from before them gets resumed:false).',
    parse: (raw, name) => integer(raw, name, 1, 10_000_000), fallback: () => HISTORY_MAX_EVENTS,
  }),
  setting({
    key: 'historyMaxAgeMs', env: 'HISTORY_MAX_AGE_MS', flag: '--history-max-age-ms', defaultText: String(HISTORY_MAX_AGE_MS),
    help: 'Oldest event kept in the history, in ms.',
    parse: (raw, name) => integer(raw, name, 1_000, 30 * 86_400_000), fallback: () => HISTORY_MAX_AGE_MS,
  }),
  setting({
    key: 'leaseTtlMs', env: 'LEASE_TTL_MS', flag: '--lease-ttl-ms', defaultText: '5000',
    help: 'A node that has not renewed its lease for this long is dead; a live node then starts the grace period of its sessions. In ms.',
    parse: (raw, name) => integer(raw, name, 100, 600_000), fallback: () => 5_000,
  }),
  setting({
    key: 'sweepIntervalMs', env: 'SWEEP_INTERVAL_MS', flag: '--sweep-interval-ms', defaultText: '1000',
    help: 'How often each node looks for dead nodes and for sessions whose grace period has passed, in ms.',
    parse: (raw, name) => integer(raw, name, 10, 600_000), fallback: () => 1_000,
  }),
];

/**
 * Read the configuration: defaults first, then environment variables, then
 * command-line flags (`--port 9000` or `--port=9000`). Throws ConfigError naming
 * the setting when a value is bad. Returns 'help' for `--help`.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config | 'help' {
  const raw = new Map<Setting, { value: string; name: string }>();
  for (const s of SETTINGS) {
    const value = env[s.env];
    if (value !== undefined && value !== '') raw.set(s, { value, name: s.env });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const s = SETTINGS.find((candidate) => candidate.flag === flag);
    if (!s) throw new ConfigError(`unknown option ${arg} (see --help)`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    raw.set(s, { value, name: flag });
  }

  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const given = raw.get(s);
    config[s.key] = given ? s.parse(given.value, given.name) : s.fallback();
  }
  const result = config as unknown as Config;
  if (result.pongTimeoutMs <= result.pingIntervalMs) {
    throw new ConfigError(
      `PONG_TIMEOUT_MS (${result.pongTimeoutMs}) must be greater than PING_INTERVAL_MS (${result.pingIntervalMs})`,
    );
  }
  return result;
}

export function helpText(): string {
  const rows = SETTINGS.map(
    (s) => `  ${`${s.flag} / ${s.env}`.padEnd(46)} ${s.help}\n  ${''.padEnd(46)} default: ${s.defaultText}`,
  );
  return [
    'Usage: switchboard-gateway [options]',
    '',
    'Every option is also read from the environment variable named beside it; a flag wins.',
    '',
    ...rows,
    '  --help                                         Show this help.',
    '',
  ].join('\n');
}

function integer(raw: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function nonEmpty(raw: string, name: string): string {
  const value = raw.trim();
  if (value === '') throw new ConfigError(`${name} must not be empty`);
  return value;
}

function oneOf(raw: string, name: string, allowed: readonly string[]): string {
  const value = raw.trim().toLowerCase();
  if (!allowed.includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return value;
}

function redisUrl(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${name} must be a redis:// or rediss:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${name} must be a redis:// or rediss:// URL, got "${raw}"`);
  }
  return raw.trim();
}

/**
 * The library internals the gateway leans on, one name each: what the metric
 * `switchboard_capability{name}` and the start-up log line call them.
 *
 * - `ws_sender_frame`: ws's `Sender.frame` builds the text frames (ws-frames.ts);
 * - `ws_raw_socket`: ws's `WebSocket._socket` takes a flush's frames in one write (ws-frames.ts);
 * - `libuv_read_stop`: libuv's `readStop`/`readStart` pause the bus's sockets between flushes (socket-read-pause.ts);
 * - `ioredis_shard_sockets`: a Redis Cluster connection's private sharded subscribers, whose sockets are paused too (ioredis-cluster.ts);
 * - `ioredis_subscriber_events`: the Cluster's undocumented events saying a shard's subscriber came back (ioredis-cluster.ts);
 * - `ioredis_connection_names`: the prefix ioredis gives the Cluster connections it opens itself (ioredis-cluster.ts);
 * - `ioredis_topology_refresh`: a Cluster's slot refresh on demand, its `refresh` event, and a shard's subscriber alone (ioredis-topology.ts).
 */
export const CAPABILITY_NAMES = [
  'ws_sender_frame',
  'ws_raw_socket',
  'libuv_read_stop',
  'ioredis_shard_sockets',
  'ioredis_subscriber_events',
  'ioredis_connection_names',
  'ioredis_topology_refresh',
] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/**
 * One library internal, behind one module of platform/ (as ws keeps its optional
 * `bufferutil` behind lib/buffer-util.js): the module uses the internal when the
 * installed library has it, and a path of public APIs otherwise; nothing outside
 * platform/ knows which it got. Each module chooses once (at load, or at the
 * first use), never per frame.
 */
export interface Capability {
  readonly name: CapabilityName;
  /** The internal, and what it is used for. */
  readonly internal: string;
  /** What is done instead without it. */
  readonly fallback: string;
  /** Whether the internal is used: the installed library has it (an actual probe, run once) and FALLBACK_ENV does not rule it out. */
  inUse(): boolean | Promise<boolean>;
}

/**
 * The environment variable that rules internals out: capability names separated
 * by commas, or `all`. Read once, when this module loads (as ws reads
 * WS_NO_BUFFER_UTIL), so that a release that misbehaves can be set aside without
 * a build, and tests can run a gateway on every fallback.
 */
export const FALLBACK_ENV = 'SWITCHBOARD_PLATFORM_FALLBACK';

/** The capabilities named in `value` (FALLBACK_ENV's syntax); throws on a name that is none. */
export function parseFallbacks(value: string | undefined): ReadonlySet<CapabilityName> {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.includes('all')) return new Set(CAPABILITY_NAMES);
  for (const name of names) {
    if (!(CAPABILITY_NAMES as readonly string[]).includes(name)) {
      throw new Error(`${FALLBACK_ENV}: "${name}" is not a capability (one of: all, ${CAPABILITY_NAMES.join(', ')})`);
    }
  }
  return new Set(names as CapabilityName[]);
}

const ruledOutByEnv = parseFallbacks(process.env[FALLBACK_ENV]);

/** Whether FALLBACK_ENV rules `name`'s internal out. */
export function ruledOut(name: CapabilityName): boolean {
  return ruledOutByEnv.has(name);
}

/**
 * Whether `name`'s internal is to be used: not ruled out, and `probe` finds it.
 * A probe that throws finds nothing (a library that changed shape fails in
 * whatever way it does).
 */
export function usable(name: CapabilityName, probe: () => boolean): boolean {
  if (ruledOut(name)) return false;
  try {
    return probe();
  } catch {
    return false;
  }
}

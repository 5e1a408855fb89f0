/**
 * The benchmark's settings, one declaration each (flag, env variable, default,
 * meaning with its unit), from which parsing and --help are derived. A flag wins
 * over the environment.
 */
import { parseArgs } from 'node:util';

interface Setting {
  readonly flag: string;
  readonly env: string;
  /** undefined: unset (the scenario's own default). */
  readonly fallback: string | undefined;
  readonly help: string;
  readonly boolean?: boolean;
}

export const SETTINGS = [
  {
    flag: 'scenario',
    env: 'SCENARIO',
    fallback: 'fanout,join,reconnect',
    help: 'scenarios to run, comma-separated: fanout, join, reconnect, rooms (rooms: opt-in)',
  },
  {
    flag: 'systems',
    env: 'SYSTEMS',
    fallback: undefined,
    help: 'systems, comma-separated: switchboard, switchboard-cluster (on a 3-master Redis Cluster), switchboard-b (Switchboard changed for an A/B: B_ENTRY, B_NODE_FLAGS, B_ENV), socketio, naive (default: switchboard, socketio, naive; reconnect: switchboard; rooms: switchboard, switchboard-cluster)',
  },
  {
    flag: 'clients',
    env: 'CLIENTS',
    fallback: undefined,
    help: 'clients, comma-separated for several rows (default: fanout 300, join 3000, reconnect 1000 on the killed node)',
  },
  {
    flag: 'rate',
    env: 'RATE',
    fallback: '200,400',
    help: 'fanout: lines per second, all senders together; comma-separated for one table each',
  },
  { flag: 'duration', env: 'DURATION_S', fallback: '20', help: 'fanout and rooms: measured sending, seconds' },
  { flag: 'warmup', env: 'WARMUP_S', fallback: '3', help: 'fanout, rooms and reconnect: sending before measuring, seconds' },
  {
    flag: 'drain',
    env: 'DRAIN_S',
    fallback: '15',
    help: 'longest wait for the last deliveries after sending stops, seconds; what has not arrived then is lost',
  },
  { flag: 'senders', env: 'SENDERS', fallback: '5', help: 'clients that send, in turn' },
  { flag: 'bytes', env: 'BYTES', fallback: '64', help: 'size of each line, bytes' },
  { flag: 'nodes', env: 'NODES', fallback: '3', help: 'fanout and rooms: server processes per system' },
  { flag: 'batch', env: 'BATCH', fallback: '100', help: 'join: clients connecting at once' },
  {
    flag: 'join-timeout',
    env: 'JOIN_TIMEOUT_S',
    fallback: '120',
    help: 'join: start no new batch after this long, seconds (the row says how many joined)',
  },
  {
    flag: 'join-notices',
    env: 'JOIN_NOTICES',
    fallback: '',
    boolean: true,
    help: 'join: Socket.IO and the naive relay also announce every join to everyone, as Switchboard does',
  },
  { flag: 'stable', env: 'STABLE', fallback: '100', help: 'reconnect: clients on the surviving nodes, whose latency is measured' },
  { flag: 'storm-rate', env: 'STORM_RATE', fallback: '20', help: 'reconnect: lines per second during the storm' },
  {
    flag: 'storm-duration',
    env: 'STORM_S',
    fallback: '15',
    help: 'reconnect: measured from the kill on, seconds (5 s are measured before it)',
  },
  { flag: 'rooms', env: 'ROOMS', fallback: '50', help: 'rooms: how many rooms (room-1, room-2...)' },
  {
    flag: 'room-clients',
    env: 'ROOM_CLIENTS',
    fallback: '20',
    help: 'rooms: clients per room (each joins its room with /join before it counts)',
  },
  { flag: 'room-senders', env: 'ROOM_SENDERS', fallback: '1', help: 'rooms: clients of each room that send' },
  {
    flag: 'room-rate',
    env: 'ROOM_RATE',
    fallback: '20',
    help: 'rooms: lines per second per room, its senders together; comma-separated for one table each',
  },
  {
    flag: 'room-nodes',
    env: 'ROOM_NODES',
    fallback: '1',
    help: "rooms: gateways each room's clients are spread over (1: a room on one gateway, as a room-aware balancer places it; 3: on all)",
  },
  {
    flag: 'quiet-wait',
    env: 'QUIET_WAIT_S',
    fallback: '300',
    help: 'before each measurement, wait up to this long, seconds, until other processes use under 0.25 cores (a shared machine); 0: do not wait',
  },
  {
    flag: 'retries',
    env: 'RETRIES',
    fallback: '1',
    help: 'measure a system again (this many times at most) when other processes used over 0.25 cores meanwhile; the table shows the last',
  },
  {
    flag: 'rounds',
    env: 'ROUNDS',
    fallback: '1',
    help: 'fanout: measure every system this many times, in turn (A B A B...), and add a table of medians and ranges',
  },
  { flag: 'workers', env: 'WORKERS', fallback: '1', help: 'load generator processes' },
  {
    flag: 'cpu-prof',
    env: 'CPU_PROF_DIR',
    fallback: undefined,
    help: 'fanout: profile every node (node --cpu-prof) into this folder and list the top self-time functions; the CPU numbers of such a run are not a baseline',
  },
  { flag: 'help', env: '', fallback: '', boolean: true, help: 'print this and exit' },
] as const satisfies readonly Setting[];

export type Flag = (typeof SETTINGS)[number]['flag'];
export type Options = Record<Flag, string | undefined>;

export function loadOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(SETTINGS.map((s: Setting) => [s.flag, { type: s.boolean ? 'boolean' : 'string' }])),
    strict: true,
  });
  const options = {} as Record<Flag, string | undefined>;
  for (const s of SETTINGS as readonly Setting[]) {
    const value = values[s.flag];
    options[s.flag as Flag] = value === true ? '1' : value === false ? '' : (value ?? (s.env ? env[s.env] : undefined) ?? s.fallback);
  }
  return options;
}

/** A list of positive numbers ("200,400"). */
export function numbers(value: string | undefined, name: string): number[] {
  const list = (value ?? '').split(',').filter(Boolean).map(Number);
  if (list.length === 0 || list.some((n) => !(n > 0)))
    throw new Error(`--${name} must be positive numbers, comma-separated (got "${value}")`);
  return list;
}

export function helpText(): string {
  const rows = (SETTINGS as readonly Setting[]).map(
    (s) => `  --${s.flag}${s.env ? ` (${s.env})` : ''}${s.fallback ? ` [${s.fallback}]` : ''}\n      ${s.help}`,
  );
  return `npm run bench -- [flags]\n\n${rows.join('\n')}\n`;
}

/**
 * The benchmark's settings, one declaration each (flag, environment variable,
 * kind, default, unit and meaning), from which their types, parsing and --help
 * are derived (@switchboard/config). A flag wins over the environment.
 */
import {
  helpText as helpFor,
  integer,
  list,
  number,
  oneOf,
  positiveNumber,
  readSettings,
  readableFile,
  schemaOf,
  setting,
  text,
  yesNo,
  type ConfigOf,
} from '@switchboard/config';

export const SCENARIOS = ['fanout', 'join', 'reconnect', 'rooms', 'model'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const SYSTEM_IDS = [
  'switchboard',
  'switchboard-cluster',
  'switchboard-b',
  'socketio',
  'socketio-cluster',
  'nchan',
  'naive',
] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

/** The most of any count (clients, rooms, a batch): far more than one machine runs. */
const MANY = 1_000_000;
/** The longest of any phase, seconds: a day. */
const DAY_S = 86_400;

export const SETTINGS = {
  scenario: setting({
    env: 'SCENARIO',
    kind: list(oneOf(SCENARIOS)),
    default: ['fanout', 'join', 'reconnect'],
    doc: "scenarios to run, comma-separated: fanout, join, reconnect, rooms, model (rooms and model: opt-in; model measures the capacity model's unit costs on Switchboard over a 3-master Redis Cluster, writes them to `--model-costs` and checks them against a rooms run)",
  }),
  systems: setting({
    env: 'SYSTEMS',
    kind: list(oneOf(SYSTEM_IDS)),
    defaultDoc:
      'fanout: `switchboard,socketio,nchan,naive`; join: `switchboard,socketio,naive`; reconnect: `switchboard`; rooms: `switchboard,switchboard-cluster,socketio-cluster`',
    doc: 'systems, comma-separated: switchboard, switchboard-cluster (on a 3-master Redis Cluster), switchboard-b (Switchboard changed for an A/B: `B_ENTRY`, `B_NODE_FLAGS`, `B_ENV`), socketio, socketio-cluster (the sharded adapter on a 3-master Redis Cluster), nchan (nginx + nchan, fanout only), naive',
  }),
  clients: setting({
    env: 'CLIENTS',
    kind: list(integer(1, MANY)),
    defaultDoc: 'fanout 300, join 3000, reconnect 1000 on the killed node',
    doc: 'clients, comma-separated for several rows',
  }),
  rate: setting({
    env: 'RATE',
    kind: list(positiveNumber(MANY)),
    default: [200, 400],
    unit: 'lines/s',
    doc: 'fanout: lines per second, all senders together; comma-separated for one table each',
  }),
  duration: setting({
    env: 'DURATION_S',
    flag: '--duration',
    kind: positiveNumber(DAY_S),
    default: 20,
    unit: 's',
    doc: 'fanout and rooms: measured sending, seconds',
  }),
  warmup: setting({
    env: 'WARMUP_S',
    flag: '--warmup',
    kind: positiveNumber(DAY_S),
    default: 3,
    unit: 's',
    doc: 'fanout, rooms and reconnect: sending before measuring, seconds',
  }),
  drain: setting({
    env: 'DRAIN_S',
    flag: '--drain',
    kind: positiveNumber(DAY_S),
    default: 15,
    unit: 's',
    doc: 'longest wait for the last deliveries after sending stops, seconds; what has not arrived then is lost',
  }),
  senders: setting({ env: 'SENDERS', kind: integer(1, MANY), default: 5, doc: 'clients that send, in turn' }),
  bytes: setting({ env: 'BYTES', kind: integer(1, 1024 * 1024), default: 64, unit: 'bytes', doc: 'size of each line, bytes' }),
  nodes: setting({
    env: 'NODES',
    kind: integer(1, 64),
    default: 3,
    doc: 'fanout and rooms: server processes per system',
  }),
  batch: setting({ env: 'BATCH', kind: integer(1, MANY), default: 100, doc: 'join: clients connecting at once' }),
  joinTimeout: setting({
    env: 'JOIN_TIMEOUT_S',
    flag: '--join-timeout',
    kind: positiveNumber(DAY_S),
    default: 120,
    unit: 's',
    doc: 'join: start no new batch after this long, seconds (the row says how many joined)',
  }),
  joinNotices: setting({
    env: 'JOIN_NOTICES',
    kind: yesNo(),
    default: false,
    defaultDoc: 'no',
    doc: 'join: Socket.IO and the naive relay also announce every join to everyone, as Switchboard does',
  }),
  stable: setting({
    env: 'STABLE',
    kind: integer(1, MANY),
    default: 100,
    doc: 'reconnect: clients on the surviving nodes, whose latency is measured',
  }),
  stormRate: setting({
    env: 'STORM_RATE',
    kind: positiveNumber(MANY),
    default: 20,
    unit: 'lines/s',
    doc: 'reconnect: lines per second during the storm',
  }),
  stormDuration: setting({
    env: 'STORM_S',
    flag: '--storm-duration',
    kind: positiveNumber(DAY_S),
    default: 15,
    unit: 's',
    doc: 'reconnect: measured from the kill on, seconds (5 s are measured before it)',
  }),
  rooms: setting({ env: 'ROOMS', kind: integer(1, MANY), default: 50, doc: 'rooms: how many rooms (room-1, room-2...)' }),
  roomClients: setting({
    env: 'ROOM_CLIENTS',
    kind: integer(1, MANY),
    default: 20,
    doc: 'rooms: clients per room (each joins its room with /join before it counts)',
  }),
  roomSenders: setting({
    env: 'ROOM_SENDERS',
    kind: integer(1, MANY),
    default: 1,
    doc: 'rooms: clients of each room that send',
  }),
  roomRate: setting({
    env: 'ROOM_RATE',
    kind: list(positiveNumber(MANY)),
    default: [20],
    unit: 'lines/s',
    doc: 'rooms: lines per second per room, its senders together; comma-separated for one table each',
  }),
  roomNodes: setting({
    env: 'ROOM_NODES',
    kind: integer(1, 64),
    default: 1,
    doc: "rooms: gateways each room's clients are spread over (1: a room on one gateway, as a room-aware balancer places it; 3: on all)",
  }),
  quietWait: setting({
    env: 'QUIET_WAIT_S',
    flag: '--quiet-wait',
    kind: number(0, DAY_S),
    default: 300,
    unit: 's',
    doc: 'before each measurement, wait up to this long, seconds, until other processes use under 0.25 cores (a shared machine); 0: do not wait',
  }),
  retries: setting({
    env: 'RETRIES',
    kind: integer(0, 100),
    default: 1,
    doc: 'measure a system again (this many times at most) when other processes used over 0.25 cores meanwhile; the table shows the last',
  }),
  rounds: setting({
    env: 'ROUNDS',
    kind: integer(1, 1_000),
    default: 1,
    doc: 'fanout and rooms: measure every system this many times, in turn (A B A B...), and add a table of medians and ranges; model: run the probes this many times and keep the median of each cost',
  }),
  modelCosts: setting({
    env: 'MODEL_COSTS_FILE',
    flag: '--model-costs',
    kind: text(),
    defaultDoc: '`packages/cli/model-costs.json` (the costs `switchboard plan` bundles)',
    doc: 'model: the file the measured unit costs are written to',
  }),
  workers: setting({ env: 'WORKERS', kind: integer(1, 64), default: 1, doc: 'load generator processes' }),
  cpuProf: setting({
    env: 'CPU_PROF_DIR',
    flag: '--cpu-prof',
    kind: text(),
    defaultDoc: 'unset (no profiles)',
    doc: 'fanout, join and reconnect: profile every node (node --cpu-prof) into this folder and list the top self-time functions of one (reconnect: a survivor, from the kill on); the CPU numbers of such a run are not a baseline',
  }),
  nginx: setting({
    env: 'NGINX_BIN',
    kind: text(),
    default: 'nginx',
    doc: 'nchan: the nginx binary, a path or a name looked for on PATH and in /usr/sbin; with the nchan module (Debian: `apt-get install nginx-light libnginx-mod-nchan`), else nchan is not run',
  }),
  bEntry: setting({
    env: 'B_ENTRY',
    kind: readableFile(),
    defaultDoc: "this checkout's gateway",
    doc: 'switchboard-b: the main.js of another build of the gateway, e.g. of a second checkout',
  }),
  bNodeFlags: setting({
    env: 'B_NODE_FLAGS',
    kind: text(),
    defaultDoc: "the gateway's own",
    doc: 'switchboard-b: Node flags of its gateways, space-separated; `-` for none',
  }),
  bEnv: setting({
    env: 'B_ENV',
    kind: text(),
    defaultDoc: 'none',
    doc: 'switchboard-b: gateway settings of its own, `KEY=VALUE` pairs, space-separated (a value may hold `=`)',
  }),
};

const schema = schemaOf(SETTINGS);

/** What the benchmark is told: one field per entry of SETTINGS. */
export type Options = Readonly<ConfigOf<typeof SETTINGS>>;

/**
 * The options from the environment, then from flags (`--rate 200` or
 * `--rate=200`). Throws ConfigError naming the flag or variable of a bad value;
 * 'help' for `--help` or `-h`.
 */
export function loadOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  return readSettings(SETTINGS, schema, argv, env);
}

/** `npm run bench -- --help`. */
export function helpText(): string {
  return helpFor('npm run bench -- [options]', SETTINGS);
}

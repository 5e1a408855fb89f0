import {
  ConfigError,
  UnknownOptionError,
  helpRows,
  integer,
  list,
  number,
  oneOf,
  readCommandLine,
  readableFile,
  schemaOf,
  setting,
  text,
  url,
  type CommandLine,
} from '@switchboard/config';
import { DEFAULT_ASSUMPTIONS, type Assumptions, type Demand } from './capacity-model.js';
import { SESSION_SECONDS } from './capacity-plan.js';
import { durationSeconds, type DevTokenClaims } from './dev-token.js';
import { DEFAULT_METRICS_URL } from './status.js';

/**
 * `switchboard server [gateway flags]` or `switchboard client NAME [--url URL] [--ca FILE]`,
 * as the seed's `server || client 'name'`; `switchboard status [--url METRICS_URL]`.
 */
export type Command =
  | { readonly kind: 'server'; readonly args: readonly string[] }
  | { readonly kind: 'client'; readonly nickname: string; readonly url: string; readonly ca?: string; readonly token?: string }
  | { readonly kind: 'status'; readonly url: string }
  | { readonly kind: 'token'; readonly secret: string; readonly claims: DevTokenClaims }
  | {
      readonly kind: 'publish';
      readonly api: ApiTarget;
      readonly room: string;
      readonly text: string;
      readonly from?: string;
      readonly idempotencyKey?: string;
    }
  | { readonly kind: 'kick'; readonly api: ApiTarget; readonly user: string }
  | { readonly kind: 'plan'; readonly demand: Demand; readonly assumptions: Assumptions; readonly costs?: string }
  | { readonly kind: 'help' };

/** Where the backend API is, and its key. */
export interface ApiTarget {
  readonly url: string;
  readonly key: string;
}

export const DEFAULT_URL = 'ws://localhost:8080/ws';

/** The settings of `switchboard client NAME`. */
export const CLIENT_SETTINGS = {
  url: setting({
    env: 'SWITCHBOARD_URL',
    flag: '--url',
    kind: url(['ws', 'wss']),
    default: DEFAULT_URL,
    doc: "the gateway's (or the load balancer's) WebSocket URL",
  }),
  ca: setting({
    flag: '--ca',
    kind: { ...text(), expects: 'the path of a PEM file (read when the client starts)' },
    defaultDoc: 'unset (the authorities Node trusts)',
    doc: 'a PEM file whose authorities are trusted for `wss://` too (as `NODE_EXTRA_CA_CERTS=FILE` does)',
  }),
  token: setting({
    env: 'SWITCHBOARD_TOKEN',
    kind: text(),
    defaultDoc: 'unset (identity off)',
    doc: 'the token to connect with when the gateway requires one (`switchboard token` mints one)',
  }),
};

/** The settings of `switchboard status`. */
export const STATUS_SETTINGS = {
  url: setting({
    env: 'SWITCHBOARD_METRICS_URL',
    flag: '--url',
    kind: url(['http', 'https']),
    default: DEFAULT_METRICS_URL,
    doc: "a gateway's metrics server (its `METRICS_PORT`)",
  }),
};

/** The settings of `switchboard token`. */
export const TOKEN_SETTINGS = {
  secret: setting({
    env: 'AUTH_JWT_SECRET',
    kind: text(),
    defaultDoc: 'unset (required)',
    doc: "the gateway's HS256 secret: the token is signed with it",
  }),
  sub: setting({ flag: '--sub', kind: text(), defaultDoc: 'unset (required)', doc: 'the user id (`sub`)' }),
  name: setting({ flag: '--name', kind: text(), defaultDoc: 'unset', doc: 'the nickname (`name`): the user cannot change it' }),
  rooms: setting({
    flag: '--rooms',
    kind: list(),
    defaultDoc: 'unset (every room)',
    doc: 'the rooms the user may join (`rooms`), comma-separated: names, or prefixes ending in `*` (`lobby,team-*`)',
  }),
  ttl: setting({ flag: '--ttl', kind: text(), default: '1h', doc: 'how long the token is valid: `90s`, `15m`, `1h`, `7d`' }),
  issuer: setting({ env: 'AUTH_JWT_ISSUER', kind: text(), defaultDoc: 'unset', doc: 'the `iss` claim, when the gateway checks one' }),
  audience: setting({ env: 'AUTH_JWT_AUDIENCE', kind: text(), defaultDoc: 'unset', doc: 'the `aud` claim, when the gateway checks one' }),
};

/** The settings of `switchboard publish` and `switchboard kick`: the backend API. */
export const API_SETTINGS = {
  url: setting({
    env: 'API_URL',
    kind: url(['http', 'https']),
    default: DEFAULT_METRICS_URL,
    doc: "a gateway's metrics server (its `METRICS_PORT`), where its backend API is",
  }),
  key: setting({ env: 'API_KEY', kind: text(), defaultDoc: 'unset (required)', doc: "one of the gateway's `API_KEY` keys" }),
};

/** The settings of `switchboard publish`, besides the API's. */
export const PUBLISH_SETTINGS = {
  ...API_SETTINGS,
  room: setting({ flag: '--room', kind: text(), default: 'lobby', doc: 'the room' }),
  from: setting({ flag: '--from', kind: text(), defaultDoc: 'unset (a notice from the system)', doc: 'the nickname the line is from' }),
  idempotencyKey: setting({
    flag: '--idempotency-key',
    kind: text(),
    defaultDoc: 'unset',
    doc: 'the same key again (to any gateway, within `API_IDEMPOTENCY_TTL_MS`) delivers nothing more and answers as the first time',
  }),
};

/** The most of any count `plan` takes (connections, rooms): far past any deployment. */
const PLAN_MOST = 1_000_000_000;

/** The settings of `switchboard plan`. */
export const PLAN_SETTINGS = {
  connections: setting({
    flag: '--connections',
    kind: integer(1, PLAN_MOST),
    defaultDoc: 'unset (required)',
    doc: 'connections held at once, cluster-wide',
  }),
  rooms: setting({
    flag: '--rooms',
    kind: integer(1, PLAN_MOST),
    defaultDoc: 'unset (required)',
    doc: 'rooms they are in (each room has connections / rooms members)',
  }),
  rate: setting({
    flag: '--rate',
    kind: number(0, PLAN_MOST),
    unit: 'lines/s',
    defaultDoc: 'unset (required)',
    doc: 'chat lines per second in EACH ROOM, all its members together (each member receives them all)',
  }),
  joinsPerSec: setting({
    flag: '--joins-per-sec',
    kind: number(0, PLAN_MOST),
    unit: 'joins/s',
    defaultDoc: `connections / ${SESSION_SECONDS} (each connection arrives once per half hour)`,
    doc: 'clients arriving (connecting and joining their room) per second, cluster-wide',
  }),
  headroom: setting({
    flag: '--headroom',
    kind: number(0.05, 1),
    default: DEFAULT_ASSUMPTIONS.headroom,
    doc: 'share of one core each gateway and each Redis shard is planned to at most',
  }),
  placement: setting({
    flag: '--placement',
    kind: oneOf(['spread', 'room']),
    default: DEFAULT_ASSUMPTIONS.placement,
    doc: "`spread`: the balancer puts each connection anywhere (a room's lines go to many gateways); `room`: a room-aware balancer keeps each room's members on one gateway",
  }),
  maxConnections: setting({
    flag: '--max-connections',
    kind: integer(1, PLAN_MOST),
    default: DEFAULT_ASSUMPTIONS.maxConnectionsPerGateway,
    doc: "a gateway's `MAX_CONNECTIONS`: connections one gateway holds at most",
  }),
  costs: setting({
    flag: '--costs',
    kind: readableFile(),
    defaultDoc: 'the costs bundled with the CLI (measured by `npm run bench -- --scenario model`)',
    doc: 'a costs file written by `npm run bench -- --scenario model --model-costs FILE`',
  }),
};

const clientSchema = schemaOf(CLIENT_SETTINGS);
const planSchema = schemaOf(PLAN_SETTINGS);
const tokenSchema = schemaOf(TOKEN_SETTINGS);
const apiSchema = schemaOf(API_SETTINGS);
const publishSchema = schemaOf(PUBLISH_SETTINGS);
const statusSchema = schemaOf(STATUS_SETTINGS);

export const USAGE = `Usage:
  switchboard server [--port N ...]          run a gateway (flags as: switchboard server --help)
  switchboard client NAME [options]          chat in this terminal as NAME
  switchboard status [options]               every node of the cluster: health, connections, rates;
                                             exit status 1 unless all are ready
  switchboard token --sub ID [options]       print a development token signed with AUTH_JWT_SECRET
  switchboard publish [options] TEXT         put a line in a room through the backend API
  switchboard kick USER [options]            close every connection of USER (its token's sub), on every node
  switchboard plan --connections N --rooms R --rate L [options]
                                             the gateways, Redis shards and memory a load needs, from
                                             measured costs (--rate: lines/s in each room)

Options of client:
${helpRows(CLIENT_SETTINGS)}

Options of status:
${helpRows(STATUS_SETTINGS)}

Options of token:
${helpRows(TOKEN_SETTINGS)}

Options of publish (kick takes API_URL and API_KEY):
${helpRows(PUBLISH_SETTINGS)}

Options of plan (docs/capacity.md explains the model):
${helpRows(PLAN_SETTINGS)}

An option with an environment variable named beside it is also read from it; a flag wins.
An empty variable counts as unset.

In the client, type a line and press Enter to send it; /nick NAME renames;
/join ROOM moves to a room (everyone starts in #lobby), /who lists who is in it,
/rooms lists the rooms, /help the commands; Ctrl-D or Ctrl-C quits. Until it has connected, each
failed attempt says why; it exits with status 1 when it never connected (also on
Ctrl-C) or its connection was closed for good, 0 when you quit.
`;

/** A bad command line: main prints the message and the usage, and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { kind: 'help' };
  if (command === 'server') return { kind: 'server', args: rest };
  if (command === 'status') {
    const read = asUsage(() => readCommandLine(STATUS_SETTINGS, statusSchema, rest, env));
    if (read === 'help') return { kind: 'help' };
    if (read.words.length > 0) throw new UsageError(`status takes no NAME (got "${read.words[0]}")`);
    return { kind: 'status', ...read.config };
  }
  if (command === 'token') return tokenCommand(rest, env);
  if (command === 'plan') return planCommand(rest, env);
  if (command === 'publish') {
    const read = asUsage(() => readCommandLine(PUBLISH_SETTINGS, publishSchema, rest, env));
    if (read === 'help') return { kind: 'help' };
    if (read.words.length !== 1) throw new UsageError('publish needs exactly one TEXT (quote it)');
    const { url, key, room, from, idempotencyKey } = read.config;
    return { kind: 'publish', api: apiTarget(url, key), room, text: read.words[0]!, from, idempotencyKey };
  }
  if (command === 'kick') {
    const read = asUsage(() => readCommandLine(API_SETTINGS, apiSchema, rest, env));
    if (read === 'help') return { kind: 'help' };
    if (read.words.length !== 1) throw new UsageError('kick needs exactly one USER');
    return { kind: 'kick', api: apiTarget(read.config.url, read.config.key), user: read.words[0]! };
  }
  if (command !== 'client') throw new UsageError(`unknown command "${command}"`);

  const read = asUsage(() => readCommandLine(CLIENT_SETTINGS, clientSchema, rest, env));
  if (read === 'help') return { kind: 'help' };
  if (read.words.length !== 1) throw new UsageError('client needs exactly one NAME');
  return { kind: 'client', nickname: read.words[0]!, ...read.config };
}

function tokenCommand(rest: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  const read = asUsage(() => readCommandLine(TOKEN_SETTINGS, tokenSchema, rest, env));
  if (read === 'help') return { kind: 'help' };
  if (read.words.length > 0) throw new UsageError(`token takes no word (got "${read.words[0]}")`);
  const { secret, sub, name, rooms, ttl, issuer, audience } = read.config;
  if (secret === undefined) throw new UsageError("token needs AUTH_JWT_SECRET (the gateway's secret) in the environment");
  if (sub === undefined) throw new UsageError('token needs --sub ID (the user id)');
  const ttlSeconds = durationSeconds(ttl);
  if (ttlSeconds === undefined) throw new UsageError(`--ttl must be a duration such as 90s, 15m, 1h or 7d (got "${ttl}")`);
  return { kind: 'token', secret, claims: { sub, name, rooms, ttlSeconds, issuer, audience } };
}

function planCommand(rest: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  const read = asUsage(() => readCommandLine(PLAN_SETTINGS, planSchema, rest, env));
  if (read === 'help') return { kind: 'help' };
  if (read.words.length > 0) throw new UsageError(`plan takes no word (got "${read.words[0]}")`);
  const { connections, rooms, rate, joinsPerSec, headroom, placement, maxConnections, costs } = read.config;
  if (connections === undefined) throw new UsageError('plan needs --connections N (connections held at once)');
  if (rooms === undefined) throw new UsageError('plan needs --rooms R (the rooms they are in)');
  if (rate === undefined) throw new UsageError('plan needs --rate L (lines/s in each room)');
  if (rooms > connections)
    throw new UsageError(`--rooms (${rooms}) must not exceed --connections (${connections}): a room has at least one member`);
  return {
    kind: 'plan',
    demand: { connections, rooms, ratePerRoom: rate, joinsPerSec: joinsPerSec ?? connections / SESSION_SECONDS },
    assumptions: { ...DEFAULT_ASSUMPTIONS, headroom, placement, maxConnectionsPerGateway: maxConnections },
    ...(costs !== undefined && { costs }),
  };
}

function apiTarget(url: string, key: string | undefined): ApiTarget {
  if (key === undefined) throw new UsageError("needs API_KEY (one of the gateway's keys) in the environment");
  return { url, key };
}

/** `read()`, its refusals as usage errors (main prints them with the usage). */
function asUsage<Config>(read: () => CommandLine<Config> | 'help'): CommandLine<Config> | 'help' {
  try {
    return read();
  } catch (err) {
    if (err instanceof UnknownOptionError) throw new UsageError(`unknown option "${err.word}"`);
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

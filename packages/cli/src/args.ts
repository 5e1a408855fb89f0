import {
  ConfigError,
  UnknownOptionError,
  helpRows,
  readCommandLine,
  schemaOf,
  setting,
  text,
  url,
  type CommandLine,
} from '@switchboard/config';
import { DEFAULT_METRICS_URL } from './status.js';

/**
 * `switchboard server [gateway flags]` or `switchboard client NAME [--url URL] [--ca FILE]`,
 * as the seed's `server || client 'name'`; `switchboard status [--url METRICS_URL]`.
 */
export type Command =
  | { readonly kind: 'server'; readonly args: readonly string[] }
  | { readonly kind: 'client'; readonly nickname: string; readonly url: string; readonly ca?: string }
  | { readonly kind: 'status'; readonly url: string }
  | { readonly kind: 'help' };

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

const clientSchema = schemaOf(CLIENT_SETTINGS);
const statusSchema = schemaOf(STATUS_SETTINGS);

export const USAGE = `Usage:
  switchboard server [--port N ...]          run a gateway (flags as: switchboard server --help)
  switchboard client NAME [options]          chat in this terminal as NAME
  switchboard status [options]               every node of the cluster: health, connections, rates;
                                             exit status 1 unless all are ready

Options of client:
${helpRows(CLIENT_SETTINGS)}

Options of status:
${helpRows(STATUS_SETTINGS)}

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
  if (command !== 'client') throw new UsageError(`unknown command "${command}"`);

  const read = asUsage(() => readCommandLine(CLIENT_SETTINGS, clientSchema, rest, env));
  if (read === 'help') return { kind: 'help' };
  if (read.words.length !== 1) throw new UsageError('client needs exactly one NAME');
  return { kind: 'client', nickname: read.words[0]!, ...read.config };
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

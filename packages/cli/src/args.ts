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

export const USAGE = `Usage:
  switchboard server [--port N ...]          run a gateway (flags as: switchboard server --help)
  switchboard client NAME [--url WS_URL] [--ca FILE]
                                             chat in this terminal as NAME
                                             (default URL: $SWITCHBOARD_URL or ${DEFAULT_URL});
                                             --ca: also trust the authorities in this PEM file for
                                             wss:// (as NODE_EXTRA_CA_CERTS=FILE does)
  switchboard status [--url METRICS_URL]     every node of the cluster: health, connections, rates
                                             (a gateway's METRICS_PORT; default: $SWITCHBOARD_METRICS_URL
                                             or ${DEFAULT_METRICS_URL}); exit status 1 unless all are ready

In the client, type a line and press Enter to send it; /nick NAME renames;
/join ROOM moves to a room (everyone starts in #lobby), /who lists who is in it,
/rooms lists the rooms; Ctrl-D or Ctrl-C quits.
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
    const read = readOptions(rest, ['url'], { url: env.SWITCHBOARD_METRICS_URL || DEFAULT_METRICS_URL });
    if (read === 'help') return { kind: 'help' };
    if (read.names.length > 0) throw new UsageError(`status takes no NAME (got "${read.names[0]}")`);
    return { kind: 'status', url: read.values.url! };
  }
  if (command !== 'client') throw new UsageError(`unknown command "${command}"`);

  const read = readOptions(rest, ['url', 'ca'], { url: env.SWITCHBOARD_URL || DEFAULT_URL });
  if (read === 'help') return { kind: 'help' };
  if (read.names.length !== 1) throw new UsageError('client needs exactly one NAME');
  const { url, ca } = read.values;
  return { kind: 'client', nickname: read.names[0]!, url: url!, ...(ca !== undefined && { ca }) };
}

/** `--NAME VALUE` or `--NAME=VALUE` for each of `options` (over `defaults`), and the other words; 'help' for --help. */
function readOptions(
  rest: readonly string[],
  options: readonly string[],
  defaults: Readonly<Record<string, string>>,
): { values: Record<string, string | undefined>; names: string[] } | 'help' {
  const values: Record<string, string | undefined> = { ...defaults };
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const option = /^--([a-z]+)(=|$)/.exec(arg);
    if (option && options.includes(option[1]!)) {
      const value = option[2] === '=' ? arg.slice(option[0].length) : rest[(i += 1)];
      if (value === undefined) throw new UsageError(`--${option[1]} needs a value`);
      values[option[1]!] = value;
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      names.push(arg);
    }
  }
  return { values, names };
}

import { DEFAULT_METRICS_URL } from './status.js';

/**
 * `switchboard server [gateway flags]` or `switchboard client NAME [--url URL]`,
 * as the seed's `server || client 'name'`; `switchboard status [--url METRICS_URL]`.
 */
export type Command =
  | { readonly kind: 'server'; readonly args: readonly string[] }
  | { readonly kind: 'client'; readonly nickname: string; readonly url: string }
  | { readonly kind: 'status'; readonly url: string }
  | { readonly kind: 'help' };

export const DEFAULT_URL = 'ws://localhost:8080/ws';

export const USAGE = `Usage:
  switchboard server [--port N ...]          run a gateway (flags as: switchboard server --help)
  switchboard client NAME [--url WS_URL]     chat in this terminal as NAME
                                             (default URL: $SWITCHBOARD_URL or ${DEFAULT_URL})
  switchboard status [--url METRICS_URL]     every node of the cluster: health, connections, rates
                                             (a gateway's METRICS_PORT; default: $SWITCHBOARD_METRICS_URL
                                             or ${DEFAULT_METRICS_URL}); exit status 1 unless all are ready

In the client, type a line and press Enter to send it; /nick NAME renames;
Ctrl-D or Ctrl-C quits.
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
    const read = readUrl(rest, env.SWITCHBOARD_METRICS_URL || DEFAULT_METRICS_URL);
    if (read === 'help') return { kind: 'help' };
    if (read.names.length > 0) throw new UsageError(`status takes no NAME (got "${read.names[0]}")`);
    return { kind: 'status', url: read.url };
  }
  if (command !== 'client') throw new UsageError(`unknown command "${command}"`);

  const read = readUrl(rest, env.SWITCHBOARD_URL || DEFAULT_URL);
  if (read === 'help') return { kind: 'help' };
  if (read.names.length !== 1) throw new UsageError('client needs exactly one NAME');
  return { kind: 'client', nickname: read.names[0]!, url: read.url };
}

/** `--url URL` or `--url=URL` (else `url`), and the other words; 'help' for --help. */
function readUrl(rest: readonly string[], url: string): { url: string; names: string[] } | 'help' {
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--url') {
      const value = rest[i + 1];
      if (value === undefined) throw new UsageError('--url needs a value');
      url = value;
      i += 1;
    } else if (arg.startsWith('--url=')) {
      url = arg.slice('--url='.length);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      names.push(arg);
    }
  }
  return { url, names };
}

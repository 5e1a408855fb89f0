/** `switchboard server [gateway flags]` or `switchboard client NAME [--url URL]`, as the seed's `server || client 'name'`. */
export type Command =
  | { readonly kind: 'server'; readonly args: readonly string[] }
  | { readonly kind: 'client'; readonly nickname: string; readonly url: string; readonly ca?: string }
  | { readonly kind: 'help' };

export const DEFAULT_URL = 'ws://localhost:8080/ws';

export const USAGE = `Usage:
  switchboard server [--port N ...]          run a gateway (flags as: switchboard server --help)
  switchboard client NAME [--url WS_URL] [--ca FILE]
                                             chat in this terminal as NAME
                                             (default URL: $SWITCHBOARD_URL or ${DEFAULT_URL});
                                             --ca: also trust the authorities in this PEM file for
                                             wss:// (as NODE_EXTRA_CA_CERTS=FILE does)

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
  if (command !== 'client') throw new UsageError(`unknown command "${command}"`);

  const values: Record<string, string | undefined> = { url: env.SWITCHBOARD_URL || DEFAULT_URL, ca: undefined };
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    const option = /^--(url|ca)(=|$)/.exec(arg);
    if (option) {
      const value = option[2] === '=' ? arg.slice(option[0].length) : rest[(i += 1)];
      if (value === undefined) throw new UsageError(`--${option[1]} needs a value`);
      values[option[1]!] = value;
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      names.push(arg);
    }
  }
  if (names.length !== 1) throw new UsageError('client needs exactly one NAME');
  const { url, ca } = values;
  return { kind: 'client', nickname: names[0]!, url: url!, ...(ca !== undefined && { ca }) };
}

/**
 * `switchboard`: `server` runs a gateway in this process, `client NAME` chats in
 * the terminal, `status` prints the cluster's table from a metrics port. The
 * seed's usage was `server || client 'name'`.
 */
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '@switchboard/client';
import { parseArgs, USAGE, UsageError, type Command } from './args.js';
import { runStatus } from './status.js';
import { runTerminal } from './terminal.js';
import { authoritiesWith, webSocketWith } from './trust.js';

/** Exit status for a bad command line, as the gateway's for a bad setting. */
const EXIT_USAGE = 2;

function readCommand(): Command {
  try {
    return parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchboard: ${err.message}\n\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
}

/** `ws`, trusting the authorities of `--ca` too when given. */
function clientWebSocket(ca: string | undefined): WebSocketConstructor {
  if (ca === undefined) return WebSocket;
  try {
    return webSocketWith({ ca: authoritiesWith(ca, process.env) });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(EXIT_USAGE);
  }
}

async function main(): Promise<void> {
  const command = readCommand();
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'server': {
      // The gateway's entry reads its flags from argv and owns the process from here.
      process.argv.splice(2, 1);
      const entry = '@switchboard/gateway';
      await import(entry);
      return;
    }
    case 'status':
      process.exit(await runStatus(command.url, process.stdout, process.stderr));
      break;
    case 'client': {
      const session = runTerminal({
        url: command.url,
        nickname: command.nickname,
        WebSocket: clientWebSocket(command.ca),
        input: process.stdin,
        output: process.stdout,
        status: process.stderr,
        interactive: process.stdin.isTTY && process.stdout.isTTY,
      });
      process.once('SIGINT', () => session.stop());
      process.once('SIGTERM', () => session.stop());
      process.exit(await session.done);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT_USAGE);
});

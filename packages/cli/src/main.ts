/**
 * `switchboard`: `server` runs a gateway in this process, `client NAME` chats in
 * the terminal, `status` prints the cluster's table from a metrics port, `plan`
 * sizes a deployment from measured costs. The
 * seed's usage was `server || client 'name'`.
 */
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '@switchboard/client';
import { parseArgs, USAGE, UsageError, type Command } from './args.js';
import { ApiCallError, callApi } from './backend-api.js';
import { runPlan } from './capacity-plan.js';
import { mintDevToken } from './dev-token.js';
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
    case 'plan':
      process.exit(runPlan(command, process.stdout, process.stderr));
      break;
    case 'token':
      process.stdout.write(`${await mintDevToken(command.secret, command.claims)}\n`);
      return;
    case 'publish':
    case 'kick':
      process.exit(await runApiCommand(command));
      break;
    case 'client': {
      const session = runTerminal({
        url: command.url,
        nickname: command.nickname,
        token: command.token,
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

/** `publish` and `kick`: one call to the backend API, one line of answer; exit status 1 when refused or unreachable. */
async function runApiCommand(command: Extract<Command, { kind: 'publish' | 'kick' }>): Promise<number> {
  const { url, key } = command.api;
  try {
    if (command.kind === 'publish') {
      const { room, text, from, idempotencyKey } = command;
      const headers = idempotencyKey === undefined ? undefined : { 'Idempotency-Key': idempotencyKey };
      const answer = await callApi(url, key, '/api/publish', { room, text, ...(from !== undefined && { from }) }, headers);
      process.stdout.write(`published in #${String(answer.room)} at seq ${String(answer.seq)} (epoch ${String(answer.epoch)})\n`);
    } else {
      const answer = await callApi(url, key, '/api/disconnect', { user: command.user });
      process.stdout.write(`closed ${String(answer.connections)} connection(s) of ${command.user} on ${String(answer.nodes)} node(s)\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ApiCallError)) throw err;
    process.stderr.write(`switchboard ${command.kind}: ${err.message}\n`);
    return 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`switchboard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT_USAGE);
});

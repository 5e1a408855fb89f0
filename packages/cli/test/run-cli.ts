import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { linesOf, type EventLog } from '@switchboard/testkit';

/** The `switchboard` command's entry. */
export const BIN = fileURLToPath(new URL('../bin/switchboard.js', import.meta.url));

/** The CLI in its own process, its stdin a pipe the test writes to. */
export function runCli(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  out: EventLog<string>;
  err: EventLog<string>;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'pipe' });
  const out = linesOf(child.stdout, (line) => line);
  const err = linesOf(child.stderr, (line) => line);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out, err, exit };
}

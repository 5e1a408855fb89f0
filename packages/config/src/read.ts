import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { MUST_NOT_BE_EMPTY } from './kinds.js';
import type { Settings } from './setting.js';

/** A bad setting: main prints the message and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A value as given, and where: the variable or the flag as typed. */
interface Given {
  readonly value: string;
  readonly source: string;
}

/**
 * Read `settings` from the environment, then from flags (a flag wins; `--flag
 * value` or `--flag=value`), and validate them all with `schema` (the settings'
 * object, plus any rule across fields). Returns 'help' for `--help` or `-h`.
 * Throws ConfigError naming the variable or flag of the first bad value.
 */
export function readSettings<S extends Settings, Config>(
  settings: S,
  schema: z.ZodType<Config>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Config | 'help' {
  const given = new Map<string, Given>();
  for (const [key, s] of Object.entries(settings)) {
    const value = env[s.env];
    if (value !== undefined && value !== '') given.set(key, { value, source: s.env });
  }
  const flags = readFlags(settings, argv);
  if (flags === 'help') return 'help';
  for (const [key, flag] of flags) given.set(key, flag);

  const result = schema.safeParse(Object.fromEntries([...given].map(([key, { value }]) => [key, value])));
  if (result.success) return result.data;
  throw new ConfigError(describe(result.error.issues[0]!, settings, given));
}

/** Flags by setting, through node:util parseArgs; 'help' as soon as `--help` comes. */
function readFlags(settings: Settings, argv: readonly string[]): Map<string, Given> | 'help' {
  const keyOf = new Map(Object.entries(settings).map(([key, s]) => [s.flag.slice(2), key]));
  const options = Object.fromEntries([...keyOf.keys()].map((name) => [name, { type: 'string' as const }]));
  // Not strict: a value may start with a dash (`--max-message-bytes -1` is refused as a number, not
  // as an ambiguous flag), and unknown flags come back as tokens for our own messages.
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, Given>();
  for (const token of tokens) {
    if (token.kind === 'option' && token.name === 'help') return 'help';
    const key = token.kind === 'option' ? keyOf.get(token.name) : undefined;
    if (token.kind !== 'option' || key === undefined) throw new ConfigError(`unknown option ${argv[token.index]} (see --help)`);
    if (token.value === undefined) throw new ConfigError(`${token.rawName} needs a value`);
    flags.set(key, { value: token.value, source: token.rawName });
  }
  return flags;
}

/** `NAME must be …, got "value"` for a field; a rule across fields speaks for itself. */
function describe(issue: z.core.$ZodIssue, settings: Settings, given: ReadonlyMap<string, Given>): string {
  const key = issue.path[0];
  if (typeof key !== 'string' || !(key in settings)) return issue.message;
  const raw = given.get(key);
  const name = raw?.source ?? settings[key]!.env;
  if (issue.message === MUST_NOT_BE_EMPTY || raw === undefined) return `${name} ${issue.message}`;
  return `${name} ${issue.message}, got "${raw.value}"`;
}

import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { ConfigError, UnknownOptionError } from './config-error.js';
import { MUST_NOT_BE_EMPTY } from './kinds.js';
import type { Settings } from './setting.js';

/** A value as given, and where: the variable or the flag as typed. */
interface Given {
  readonly value: string;
  readonly source: string;
}

/**
 * Read `settings` from the environment, then from flags (a flag wins; `--flag
 * value` or `--flag=value`), and validate them all with `schema` (the settings'
 * object, plus any rule across fields). Returns 'help' for `--help` or `-h`.
 * Throws ConfigError naming the variable or flag of the first bad value, and
 * UnknownOptionError for any word that is not one of the flags.
 */
export function readSettings<S extends Settings, Config>(
  settings: S,
  schema: z.ZodType<Config>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Config | 'help' {
  const read = readCommandLine(settings, schema, argv, env, { words: false });
  return read === 'help' ? 'help' : read.config;
}

/** A command line read: the settings, and the words that are not flags (a command's NAME). */
export interface CommandLine<Config> {
  readonly config: Config;
  readonly words: readonly string[];
}

/**
 * As readSettings, for a command that also takes words that are not flags
 * (`client NAME`): they come back in order, and after `--` every word is one.
 * `{ words: false }` refuses them as unknown options.
 */
export function readCommandLine<S extends Settings, Config>(
  settings: S,
  schema: z.ZodType<Config>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { readonly words: boolean } = { words: true },
): CommandLine<Config> | 'help' {
  const given = new Map<string, Given>();
  for (const [key, s] of Object.entries(settings)) {
    if (s.env === undefined) continue;
    const value = env[s.env];
    if (value !== undefined && value !== '') given.set(key, { value, source: s.env });
  }
  const flags = readFlags(settings, argv, options.words);
  if (flags === 'help') return 'help';
  for (const [key, flag] of flags.given) given.set(key, flag);

  const result = schema.safeParse(Object.fromEntries([...given].map(([key, { value }]) => [key, value])));
  if (result.success) return { config: result.data, words: flags.words };
  throw new ConfigError(describe(result.error.issues[0]!, settings, given));
}

/** Flags by setting, and the other words, through node:util parseArgs; 'help' as soon as `--help` comes. */
function readFlags(
  settings: Settings,
  argv: readonly string[],
  wordsTaken: boolean,
): { given: Map<string, Given>; words: string[] } | 'help' {
  const keyOf = new Map(Object.entries(settings).map(([key, s]) => [s.flag.slice(2), key]));
  const options = Object.fromEntries(
    Object.values(settings).map((s) => [s.flag.slice(2), { type: s.alone === undefined ? ('string' as const) : ('boolean' as const) }]),
  );
  // Not strict: a value may start with a dash (`--max-message-bytes -1` is refused as a number, not
  // as an ambiguous flag), and unknown flags come back as tokens for our own messages.
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Map<string, Given>();
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option' && token.name === 'help') return 'help';
    if (wordsTaken && token.kind === 'positional') {
      words.push(token.value);
      continue;
    }
    if (wordsTaken && token.kind === 'option-terminator') continue;
    const key = token.kind === 'option' ? keyOf.get(token.name) : undefined;
    if (token.kind !== 'option' || key === undefined) throw new UnknownOptionError(argv[token.index]!);
    const value = token.value ?? settings[key]!.alone;
    if (value === undefined) throw new ConfigError(`${token.rawName} needs a value`);
    given.set(key, { value, source: token.rawName });
  }
  return { given, words };
}

/** `NAME must be …, got "value"` for a field; a rule across fields speaks for itself. */
function describe(issue: z.core.$ZodIssue, settings: Settings, given: ReadonlyMap<string, Given>): string {
  const key = issue.path[0];
  if (typeof key !== 'string' || !(key in settings)) return issue.message;
  const raw = given.get(key);
  const name = raw?.source ?? settings[key]!.env ?? settings[key]!.flag;
  if (issue.message === MUST_NOT_BE_EMPTY || raw === undefined) return `${name} ${issue.message}`;
  return `${name} ${issue.message}, got "${raw.value}"`;
}

import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';

/**
 * The kinds of value a setting can hold. Each turns the text of an environment
 * variable or a flag into a typed value with zod, and says what it expects in
 * words: `--help` shows that, and a refusal reads `NAME must be <expects>, got "…"`.
 */
export interface Kind<T> {
  /** From the raw text (never empty: an empty variable is unset) to the value. */
  readonly schema: z.ZodType<T, string>;
  /** What a good value is, e.g. `a whole number from 1 to 1048576`. */
  readonly expects: string;
  /**
   * The text a flag given alone stands for (`--join-notices` reads as `yes`);
   * unset, a flag needs a value (`--port 80` or `--port=80`).
   */
  readonly alone?: string;
}

/** The one refusal that does not repeat the value (there is none to show). */
export const MUST_NOT_BE_EMPTY = 'must not be empty';

/** A kind from any zod schema of a string; its refusals say `must be <expects>`. */
export function kind<T>(expects: string, schema: (error: string) => z.ZodType<T, string>): Kind<T> {
  return { expects, schema: schema(`must be ${expects}`) };
}

/** A whole number from `min` to `max`, both included. */
export function integer(min: number, max: number): Kind<number> {
  return kind(`a whole number from ${min} to ${max}`, (error) =>
    z.string().trim().regex(/^\d+$/, { error }).transform(Number).pipe(z.int({ error }).min(min, { error }).max(max, { error })),
  );
}

/** A number, decimals allowed, from `min` to `max`, both included. */
export function number(min: number, max: number): Kind<number> {
  return kind(`a number from ${min} to ${max}`, (error) => decimalOf(error).pipe(z.number().min(min, { error }).max(max, { error })));
}

/** A number, decimals allowed, above 0 and at most `max`: a rate or a duration that must not be nil. */
export function positiveNumber(max: number): Kind<number> {
  return kind(`a number above 0, at most ${max}`, (error) => decimalOf(error).pipe(z.number().gt(0, { error }).max(max, { error })));
}

/** Digits with an optional fraction (`2`, `0.5`), as a number. */
function decimalOf(error: string): z.ZodType<number, string> {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, { error })
    .transform(Number);
}

/** Yes or no; a flag given alone (`--join-notices`) is yes. */
export function yesNo(): Kind<boolean> {
  const yes = ['yes', 'true', '1', 'on'] as const;
  const no = ['no', 'false', '0', 'off'] as const;
  const { expects, schema } = kind('yes or no (or true, 1, on / false, 0, off)', (error) =>
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum([...yes, ...no], { error }))
      .transform((word) => (yes as readonly string[]).includes(word)),
  );
  return { expects, schema, alone: 'yes' };
}

/** A TCP port; `0` asks the system for a free one. */
export function port(): Kind<number> {
  return integer(0, 65_535);
}

/** Any text but blanks, trimmed. */
export function text(): Kind<string> {
  return { expects: 'any text', schema: z.string().trim().min(1, { error: MUST_NOT_BE_EMPTY }) };
}

/** One of `values`, in any case (read in lower case). */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V): Kind<V[number]> {
  return kind(`one of ${values.join(', ')}`, (error) => z.string().trim().toLowerCase().pipe(z.enum(values, { error })));
}

/** A URL whose scheme is one of `schemes` (without `:`), e.g. `['redis', 'rediss']`. */
export function url(schemes: readonly [string, ...string[]]): Kind<string> {
  const protocol = new RegExp(`^(${schemes.join('|')})$`);
  return kind(`a ${schemes.map((s) => `${s}://`).join(' or ')} URL`, (error) => z.string().trim().pipe(z.url({ protocol, error })));
}

/**
 * A comma-separated list of at least one item, each of kind `item` (any text by
 * default); blanks around items and empty items are dropped.
 */
export function list(): Kind<string[]>;
export function list<T>(item: Kind<T>): Kind<T[]>;
export function list(item: Kind<unknown> = text()): Kind<unknown[]> {
  return kind(`a comma-separated list, each ${item.expects}`, (error) =>
    z
      .string()
      .transform((raw) =>
        raw
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      )
      .pipe(z.array(z.string(), { error }).min(1, { error }))
      .transform((items, ctx) => {
        const parsed = items.map((value) => item.schema.safeParse(value));
        if (parsed.every((result) => result.success)) return parsed.map((result) => result.data);
        ctx.issues.push({ code: 'custom', message: error, input: items });
        return z.NEVER;
      }),
  );
}

/** The path of a file this process can read now (checked at start, so a typo fails at once). */
export function readableFile(): Kind<string> {
  return kind('the path of a readable file', (error) => z.string().trim().refine(isReadableFile, { error }));
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `host:port`, as a Redis Cluster's seed nodes are named. */
export function hostPort(): Kind<{ host: string; port: number }> {
  return kind('host:port', (error) =>
    z
      .string()
      .trim()
      .regex(/^[^\s:]+:\d{1,5}$/, { error })
      .transform((text) => {
        const colon = text.lastIndexOf(':');
        return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
      })
      .pipe(z.object({ host: z.string(), port: z.int().min(1, { error }).max(65_535, { error }) })),
  );
}

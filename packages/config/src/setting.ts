import { z } from 'zod';
import type { Kind } from './kinds.js';

/**
 * How a setting is named: by its environment variable, its flag then being the
 * variable in kebab case (`MAX_MESSAGE_BYTES` -> `--max-message-bytes`), unless
 * given; or by a flag alone, with no variable.
 */
type Names = { readonly env: string; readonly flag?: Flag } | { readonly env?: undefined; readonly flag: Flag };

/** A long flag, with its dashes. */
type Flag = `--${string}`;

/** What one declares about a setting; everything else about it is derived. */
type Declaration<T> = Names & {
  readonly kind: Kind<T>;
  /** Unit of a number (`ms`, `bytes`), shown in `--help` beside the default. */
  readonly unit?: string;
  /** Markdown: the README's "meaning, and what happens past a limit"; `--help` shows it without backticks. */
  readonly doc: string;
};

/** A setting with a fixed default, shown as the value itself unless `defaultDoc` (Markdown) says otherwise. */
type WithDefault<T> = Declaration<T> & {
  readonly default: NoInfer<T>;
  readonly defaultDoc?: string;
};

/** A setting whose default is computed when the config is read; `defaultDoc` (Markdown) says what it is. */
type WithComputedDefault<T> = Declaration<T> & {
  readonly default: () => NoInfer<T>;
  readonly defaultDoc: string;
};

/** A setting that may stay unset (`undefined`); `defaultDoc` (Markdown) says what unset means, `unset` if omitted. */
type Optional<T> = Declaration<T> & {
  readonly default?: undefined;
  readonly defaultDoc?: string;
};

/** One setting, as the loader and the docs see it. */
export interface Setting<S extends z.ZodType = z.ZodType, E extends string | undefined = string | undefined> {
  /** The environment variable, or undefined for a setting given by its flag only. */
  readonly env: E;
  /** The long flag, with its dashes. */
  readonly flag: Flag;
  /** The text the flag given alone stands for, or undefined when it needs a value. */
  readonly alone: string | undefined;
  /** From the raw text (or undefined when not given) to the value, the default applied. */
  readonly schema: S;
  readonly expects: string;
  /** Markdown: the default as the README shows it. */
  readonly defaultDoc: string;
  readonly unit: string | undefined;
  readonly doc: string;
}

/** Declare a setting: its variable (or flag), kind, default, unit and doc. */
export function setting<T>(
  declared: (WithDefault<T> | WithComputedDefault<T>) & { readonly env: string },
): Setting<z.ZodDefault<z.ZodType<T, string>>, string>;
export function setting<T>(declared: Optional<T> & { readonly env: string }): Setting<z.ZodOptional<z.ZodType<T, string>>, string>;
export function setting<T>(declared: WithDefault<T> | WithComputedDefault<T>): Setting<z.ZodDefault<z.ZodType<T, string>>, undefined>;
export function setting<T>(declared: Optional<T>): Setting<z.ZodOptional<z.ZodType<T, string>>, undefined>;
export function setting<T>(declared: WithDefault<T> | WithComputedDefault<T> | Optional<T>): Setting {
  const { env, kind, unit, doc } = declared;
  const flag = declared.env === undefined ? declared.flag : (declared.flag ?? flagOf(declared.env));
  if (flag === '--help') throw new TypeError("--help is every command's own flag, not a setting");
  const shared = { env, flag, alone: kind.alone, expects: kind.expects, unit, doc };
  if (declared.default === undefined) {
    return { ...shared, schema: kind.schema.optional(), defaultDoc: declared.defaultDoc ?? 'unset' };
  }
  const defaultDoc = declared.defaultDoc ?? `\`${String(declared.default)}\``;
  // zod takes the value or the function that computes it alike.
  return { ...shared, schema: kind.schema.default(declared.default as never), defaultDoc };
}

/** `MAX_MESSAGE_BYTES` -> `--max-message-bytes`. */
function flagOf(env: string): Flag {
  return `--${env.toLowerCase().replaceAll('_', '-')}`;
}

/** Settings by the name of their field in the config. */
export type Settings = Readonly<Record<string, Setting>>;

/** The zod object of all settings: its output is the config. */
export function schemaOf<S extends Settings>(settings: S): z.ZodObject<{ -readonly [K in keyof S]: S[K]['schema'] }> {
  const shape = Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, s.schema]));
  return z.object(shape) as z.ZodObject<{ -readonly [K in keyof S]: S[K]['schema'] }>;
}

/** The config that `settings` are read into: each field's type follows from its kind and default. */
export type ConfigOf<S extends Settings> = z.output<ReturnType<typeof schemaOf<S>>>;

import { z } from 'zod';
import type { Kind } from './kinds.js';

/** What one declares about a setting; everything else about it is derived. */
interface Declaration<T> {
  /** The environment variable; the flag is its kebab-case (`MAX_MESSAGE_BYTES` -> `--max-message-bytes`). */
  readonly env: string;
  readonly kind: Kind<T>;
  /** Unit of a number (`ms`, `bytes`), shown in `--help` beside the default. */
  readonly unit?: string;
  /** Markdown: the README's "meaning, and what happens past a limit"; `--help` shows it without backticks. */
  readonly doc: string;
}

/** A setting with a fixed default, shown as the value itself unless `defaultDoc` (Markdown) says otherwise. */
interface WithDefault<T> extends Declaration<T> {
  readonly default: NoInfer<T>;
  readonly defaultDoc?: string;
}

/** A setting whose default is computed when the config is read; `defaultDoc` (Markdown) says what it is. */
interface WithComputedDefault<T> extends Declaration<T> {
  readonly default: () => NoInfer<T>;
  readonly defaultDoc: string;
}

/** A setting that may stay unset (`undefined`); `defaultDoc` (Markdown) says what unset means, `unset` if omitted. */
interface Optional<T> extends Declaration<T> {
  readonly default?: undefined;
  readonly defaultDoc?: string;
}

/** One setting, as the loader and the docs see it. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  /** The long flag, with its dashes. */
  readonly flag: string;
  /** From the raw text (or undefined when not given) to the value, the default applied. */
  readonly schema: S;
  readonly expects: string;
  /** Markdown: the default as the README shows it. */
  readonly defaultDoc: string;
  readonly unit: string | undefined;
  readonly doc: string;
}

/** Declare a setting: its variable, kind, default, unit and doc. */
export function setting<T>(declared: WithDefault<T> | WithComputedDefault<T>): Setting<z.ZodDefault<z.ZodType<T, string>>>;
export function setting<T>(declared: Optional<T>): Setting<z.ZodOptional<z.ZodType<T, string>>>;
export function setting<T>(declared: WithDefault<T> | WithComputedDefault<T> | Optional<T>): Setting {
  const { env, kind, unit, doc } = declared;
  const shared = { env, flag: `--${env.toLowerCase().replaceAll('_', '-')}`, expects: kind.expects, unit, doc };
  if (declared.default === undefined) {
    return { ...shared, schema: kind.schema.optional(), defaultDoc: declared.defaultDoc ?? 'unset' };
  }
  const defaultDoc = declared.defaultDoc ?? `\`${String(declared.default)}\``;
  // zod takes the value or the function that computes it alike.
  return { ...shared, schema: kind.schema.default(declared.default as never), defaultDoc };
}

/** Settings by the name of their field in the config. */
export type Settings = Readonly<Record<string, Setting>>;

/** The zod object of all settings: its output is the config. */
export function schemaOf<S extends Settings>(settings: S): z.ZodObject<{ -readonly [K in keyof S]: S[K]['schema'] }> {
  const shape = Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, s.schema]));
  return z.object(shape) as z.ZodObject<{ -readonly [K in keyof S]: S[K]['schema'] }>;
}

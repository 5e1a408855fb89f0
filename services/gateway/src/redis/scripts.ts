import { BusUnavailableError } from '../bus/bus.js';
import type { RedisClient } from './client.js';

/** One Lua script: how many of its arguments are KEYS (the rest are ARGV), and its text. */
export interface ScriptDefinition {
  readonly keys: number;
  readonly lua: string;
}

/** A set of scripts by name (the bus's, the session registry's). */
export type ScriptSet = Readonly<Record<string, ScriptDefinition>>;

/** Runs one script of a set on a connection, with its KEYS, then its ARGV. */
export type ScriptRunner<S extends ScriptSet> = (
  redis: RedisClient,
  name: keyof S & string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
) => Promise<unknown>;

/** Register every script of a set on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineScripts(redis: RedisClient, scripts: ScriptSet): void {
  for (const [name, { keys, lua }] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: keys, lua });
}

/**
 * The runner of a set defined with defineScripts. Any failure of a run is a
 * BusUnavailableError (nothing is known to have run).
 */
export function scriptRunner<S extends ScriptSet>(scripts: S): ScriptRunner<S> {
  return async (redis, name, keys, args) => {
    const { keys: count } = scripts[name]!;
    if (keys.length !== count) throw new Error(`${name} takes ${count} keys, got ${keys.length}`);
    const command = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]!;
    try {
      return await command.apply(redis, [...keys, ...args]);
    } catch (err) {
      throw new BusUnavailableError(`redis ${name} failed: ${(err as Error).message}`);
    }
  };
}

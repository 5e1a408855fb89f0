import { nanoid } from 'nanoid';
import type { EventDraft } from '@switchboard/protocol';
import { BusUnavailableError, type BusLimits } from '../bus/bus.js';
import { BUS_SCRIPTS } from './bus-scripts.js';
import type { RedisClient } from './connection.js';
import { SESSION_SCRIPTS } from './session-scripts.js';

const SCRIPTS = { ...BUS_SCRIPTS, ...SESSION_SCRIPTS };

export type ScriptName = keyof typeof SCRIPTS;

/** A fresh epoch id, used only if the history has none (it was lost, or never existed). */
export const newEpoch = (): string => nanoid(12);

/** Register every script on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineScripts(redis: RedisClient): void {
  for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: keys, lua });
}

/**
 * Run a script defined with defineScripts with its KEYS, then its ARGV. Any
 * failure is a BusUnavailableError (nothing is known to have run).
 */
export async function runScript(
  redis: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  if (keys.length !== SCRIPTS[name].keys) throw new Error(`${name} takes ${SCRIPTS[name].keys} keys, got ${keys.length}`);
  const command = (redis as unknown as Record<ScriptName, (...a: Array<string | number>) => Promise<unknown>>)[name];
  try {
    return await command.apply(redis, [...keys, ...args]);
  } catch (err) {
    throw new BusUnavailableError(`redis ${name} failed: ${(err as Error).message}`);
  }
}

/**
 * How long a room's keys live once no node serves it, in ms: it forgets its
 * history's epoch (the history was trimmed long before), so rooms that come and
 * go leave nothing behind in Redis. Nodes that serve a room keep it alive every
 * ROOM_KEEPALIVE_MS (RedisBus).
 */
export const ROOM_KEYS_TTL_MS = 24 * 60 * 60 * 1000;

/** How often a node renews the keys of the rooms it serves, in ms. */
export const ROOM_KEEPALIVE_MS = 60 * 60 * 1000;

/**
 * ARGV[1..7] of a stream script (see lua-library.ts): now (ms), history bounds, a
 * candidate epoch, recent lines kept, room keys' lifetime.
 */
export function streamArgs(limits: BusLimits, now: number): Array<string | number> {
  return [now, limits.historyMaxEvents, limits.historyMaxAgeMs, limits.historyMaxBytes, newEpoch(), limits.historyOnJoin, ROOM_KEYS_TTL_MS];
}

/** An event draft as a publishing script takes it: its JSON without the opening brace (the script puts seq and epoch first). */
export function scriptBody(draft: EventDraft): string {
  return JSON.stringify(draft).slice(1);
}

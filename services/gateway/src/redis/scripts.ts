import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import type { EventDraft } from '@switchboard/protocol';
import { BusUnavailableError, type HistoryLimits } from '../bus/bus.js';
import { BUS_SCRIPTS } from './bus-scripts.js';
import { SESSION_SCRIPTS } from './session-scripts.js';

const SCRIPTS = { ...BUS_SCRIPTS, ...SESSION_SCRIPTS };

export type ScriptName = keyof typeof SCRIPTS;

/** A fresh epoch id, used only if the history has none (it was lost, or never existed). */
export const newEpoch = (): string => nanoid(12);

/** Register every script on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineScripts(redis: Redis): void {
  for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: keys, lua });
}

/**
 * Run a script defined with defineScripts with its KEYS, then its ARGV. Any
 * failure is a BusUnavailableError (nothing is known to have run).
 */
export async function runScript(
  redis: Redis,
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

/** ARGV[1..5] of a publishing script (see lua-library.ts): now (ms), history bounds, candidate epoch. */
export function publishArgs(limits: HistoryLimits, now: number): Array<string | number> {
  return [now, limits.historyMaxEvents, limits.historyMaxAgeMs, limits.historyMaxBytes, newEpoch()];
}

/** An event draft as a publishing script takes it: its JSON without the opening brace (the script puts seq and epoch first). */
export function scriptBody(draft: EventDraft): string {
  return JSON.stringify(draft).slice(1);
}

/**
 * A disconnect notice as kept with its session (`bye`): JSON without braces and
 * without `time`, which the script that ends the session adds when it announces it.
 */
export function storedNotice(draft: EventDraft): string {
  const { time: _time, ...rest } = draft;
  return JSON.stringify(rest).slice(1, -1);
}

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

/** How many replicas a write must reach, and how long to wait for them (asked once the script has run). */
export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * Asked how many replicas to wait for: first once the script has run
 * (`fellShort` false), then after each WAIT slice that fell short (true: the
 * caller may count the replicas again, and the next ask sees the new count).
 */
export type AskReplicaWait = (fellShort: boolean) => ReplicaWait;

/** What a script run with its WAIT answered: the script's reply, the replicas waited for, and how many had the write in time. */
export interface WaitedReply {
  readonly reply: unknown;
  readonly needed: number;
  readonly replicas: number;
}

/**
 * The longest one WAIT holds its connection, ms: a wait for replicas goes in
 * slices of at most this, and between slices it asks again how many it needs.
 * A replica that answers answers within the first slice (WAIT returns as soon
 * as enough have the write); a shard whose master was just replaced by its
 * replica (which has none of its own) stops waiting once it is counted again,
 * not at the end of REDIS_WAIT_TIMEOUT_MS; and what is queued behind a WAIT on
 * its connection waits at most a slice.
 */
export const WAIT_SLICE_MS = 100;

/**
 * Runs one script of a set, then, once it has run, asks `wait` how many
 * replicas must have its writes and WAITs for them on the connection that ran
 * it (WAIT waits for every write its connection made before it). On a Redis
 * Cluster the WAIT goes in a pipeline behind a read of the script's first key,
 * so that it reaches the master of that slot; a failover in between is caught
 * by what follows a WAIT (sbRelease finds the event there, or refuses).
 *
 * Asked late, not when the publish began, and again after each WAIT_SLICE_MS
 * that fell short: a script queued through a failover runs on a promoted
 * replica that has no replica of its own, and a WAIT decided once, before it
 * was counted again, would hold that connection for its whole timeout, one
 * queued publish after another, and everything behind them (the watchdog's
 * probes included). Costs a second round trip where replicas are waited for.
 * A failure of the script is a BusUnavailableError, as with scriptRunner; a
 * WAIT that failed (its connection dropped) counts no replica and ends the
 * wait at once: a loop of WAITs failing at once would never yield to the
 * event loop until its deadline.
 */
export function scriptThenWait<S extends ScriptSet>(
  scripts: S,
): (
  redis: RedisClient,
  name: keyof S & string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  wait: AskReplicaWait,
) => Promise<WaitedReply> {
  const run = scriptRunner(scripts);
  return async (redis, name, keys, args, wait) => {
    const reply = await run(redis, name, keys, args);
    const first = wait(false);
    let needed = first.replicas;
    if (needed <= 0) return { reply, needed: 0, replicas: 0 };
    const deadline = Date.now() + first.timeoutMs;
    for (;;) {
      const sliceMs = Math.max(1, Math.min(WAIT_SLICE_MS, deadline - Date.now()));
      const started = Date.now();
      const got = await waitOnce(redis, keys[0]!, needed, sliceMs);
      // Failed, or short sooner than WAIT blocks (not a WAIT that ran): no slice after it would do better.
      if (got === undefined) return { reply, needed, replicas: 0 };
      if (got >= needed || Date.now() >= deadline || Date.now() - started < sliceMs / 2) return { reply, needed, replicas: got };
      needed = wait(true).replicas;
      if (needed <= 0) return { reply, needed: 0, replicas: got };
    }
  };
}

/**
 * One WAIT of at most `timeoutMs` (never 0: that is forever), routed to `key`'s
 * master: how many replicas had the writes; undefined if it failed (the
 * connection dropped, or the server refused it).
 */
async function waitOnce(redis: RedisClient, key: string, needed: number, timeoutMs: number): Promise<number | undefined> {
  const pipeline = redis.pipeline();
  pipeline.exists(key);
  pipeline.call('WAIT', needed, timeoutMs);
  try {
    const waited = (await pipeline.exec())?.[1];
    return waited && !waited[0] ? Number(waited[1]) : undefined;
  } catch {
    return undefined;
  }
}

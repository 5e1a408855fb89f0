import { BusUnavailableError } from '../bus/bus.js';
import { Cluster } from 'ioredis';
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

/** What a script run with its WAIT answered: the script's reply, and how many replicas had the write within the timeout. */
export interface WaitedReply {
  readonly reply: unknown;
  readonly replicas: number;
}

/**
 * Runs one script of a set, then `WAIT replicas timeoutMs` right behind it, in
 * one round trip: a pipeline goes to one server (on a Redis Cluster, the master
 * of the script's keys' slot, which has no say over a keyless WAIT: it rides
 * along), on one connection, so the WAIT counts the replicas that have this
 * script's writes (WAIT waits for every write its connection made before it). A
 * failure of the script is a BusUnavailableError, as with scriptRunner.
 *
 * One case it cannot cover: ioredis sends a script in full (EVAL) the first time
 * on each connection, then by its hash; a NOSCRIPT reply (someone ran SCRIPT
 * FLUSH) makes ioredis resend the script outside the pipeline, after the WAIT.
 */
export function scriptThenWait<S extends ScriptSet>(
  scripts: S,
): (
  redis: RedisClient,
  name: keyof S & string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  replicas: number,
  timeoutMs: number,
) => Promise<WaitedReply> {
  return async (redis, name, keys, args, replicas, timeoutMs) => {
    const { keys: count } = scripts[name]!;
    if (keys.length !== count) throw new Error(`${name} takes ${count} keys, got ${keys.length}`);
    for (let attempt = 1; ; attempt++) {
      const pipeline = redis.pipeline();
      (pipeline as unknown as Record<string, (...a: Array<string | number>) => unknown>)[name]!.apply(pipeline, [...keys, ...args]);
      pipeline.call('WAIT', replicas, timeoutMs);
      let results: Array<[Error | null, unknown]> | null;
      try {
        results = await pipeline.exec();
      } catch (err) {
        throw new BusUnavailableError(`redis ${name} failed: ${(err as Error).message}`);
      }
      const [ran, waited] = results ?? [];
      const error = ran ? ran[0] : new Error('no reply');
      if (error && attempt === 1 && redis instanceof Cluster && MOVED.test(error.message)) {
        // The slot has a new master (a failover): ioredis redirects a pipeline only when every reply is
        // that redirection, and WAIT answers otherwise on the old one. The script did not run: learn the
        // new master and send it there, once.
        await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
        continue;
      }
      if (error) throw new BusUnavailableError(`redis ${name} failed: ${error.message}`);
      // The script ran; a WAIT that failed (the connection dropped) leaves it unconfirmed: none counted.
      return { reply: ran![1], replicas: waited && !waited[0] ? Number(waited[1]) : 0 };
    }
  };
}

/** A script refused because its slot is served elsewhere now (it did not run). */
const MOVED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

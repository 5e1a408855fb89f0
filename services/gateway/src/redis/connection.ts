import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** Longest pause between reconnect attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * A Redis connection as every Switchboard part wants it: it reconnects forever,
 * never queues commands while Redis is away (they fail at once and the caller
 * says so), and logs its errors instead of throwing them.
 *
 * A command in flight when the connection drops fails too; it is never resent
 * after the reconnect, because Redis may already have run it (a publish whose
 * reply was lost would otherwise be published twice). Its caller reports the
 * outcome as unknown; v2 clients retry with the same `ref`, which is de-duplicated.
 */
export function createRedis(url: string, name: string, logger: Logger, extra: { autoResubscribe?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    connectionName: name,
    ...extra,
  });
  let closing = false;
  redis.on('error', (err: Error) => {
    if (!closing) logger.warn({ connection: name, err: err.message }, 'redis connection error');
  });
  redis.on('end', () => (closing = true));
  return redis;
}

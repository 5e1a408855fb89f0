import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { SentinelTarget } from './client.js';

/** The channel on which every Sentinel announces a master it now knows at a new address. */
const SWITCH_CHANNEL = '+switch-master';
/**
 * How long a master the Sentinels replaced is avoided, ms: a connection that
 * lands on it again (a Sentinel that had not heard yet named it) leaves it.
 * Sentinel makes it a replica within about 8 s (ioredis then refuses it by its
 * role); past this, a failback to it is followed as any failover.
 */
export const DEMOTED_AVOID_MS = 30_000;
/** Longest pause between reconnects to a Sentinel, ms. */
const MAX_RECONNECT_DELAY_MS = 2_000;

interface Demoted {
  readonly host: string;
  readonly port: number;
  /** Its addresses (the host resolved), as a socket's remoteAddress shows them. */
  readonly addresses: ReadonlySet<string>;
  readonly until: number;
}

/**
 * Follows a graceful failover at once. After `SENTINEL FAILOVER` (or any
 * failover whose old master is still up) the Sentinels promote the replica
 * and announce `+switch-master`, but make the old master a replica (and close
 * its clients) only some 8 s later: meanwhile it still takes writes, which its
 * resync then throws away. So every connection to the master of `target`
 * listens to the Sentinels' announcement: when the master it is on was
 * replaced, it reconnects, and asks the Sentinels again. One that lands on the
 * old master again (a Sentinel that had not heard yet named it) leaves it as
 * soon as it connects, before it is ready, for DEMOTED_AVOID_MS.
 *
 * Not ioredis' `failoverDetector`: with it, connections were left in `end` for
 * good after a failover here.
 */
export class SentinelSwitchWatch {
  private readonly listeners: Redis[];
  private readonly connections = new Set<Redis>();
  private demoted: Demoted | undefined;

  constructor(
    private readonly target: SentinelTarget,
    private readonly logger: Logger,
  ) {
    this.listeners = target.sentinels.map(({ host, port }) => {
      const sentinel = new Redis({
        host,
        port,
        ...(target.sentinelPassword !== undefined && { password: target.sentinelPassword }),
        retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
        maxRetriesPerRequest: null,
      });
      sentinel.on('error', (err: Error) => logger.debug({ sentinel: `${host}:${port}`, err: err.message }, 'sentinel connection error'));
      sentinel.on('message', (_channel: string, message: string) => void this.onSwitch(message, `${host}:${port}`));
      sentinel.subscribe(SWITCH_CHANNEL).catch(() => undefined);
      return sentinel;
    });
  }

  /** Follow switches on `redis`, until it ends. */
  track(redis: Redis): void {
    this.connections.add(redis);
    // Checked on `connect`, before ioredis' ready check: a connection that landed on the old master never gets ready there.
    redis.on('connect', () => this.leaveIfDemoted(redis));
    redis.on('ready', () => this.leaveIfDemoted(redis));
    redis.on('end', () => this.connections.delete(redis));
  }

  /** Whether no connection is tracked any more (then close()). */
  get idle(): boolean {
    return this.connections.size === 0;
  }

  close(): void {
    for (const sentinel of this.listeners) sentinel.disconnect();
  }

  /** `<name> <old-host> <old-port> <new-host> <new-port>`. */
  private async onSwitch(message: string, from: string): Promise<void> {
    const [name, oldHost, oldPort, newHost, newPort] = message.split(' ');
    if (name !== this.target.name || oldHost === undefined || newHost === undefined) return;
    const port = Number(oldPort);
    if (this.demoted && this.demoted.host === oldHost && this.demoted.port === port && Date.now() < this.demoted.until) return;
    const addresses = await addressesOf(oldHost);
    this.demoted = { host: oldHost, port, addresses, until: Date.now() + DEMOTED_AVOID_MS };
    this.logger.warn(
      { sentinel: from, from: `${oldHost}:${oldPort}`, to: `${newHost}:${newPort}`, reason: 'the Sentinels replaced the master' },
      'redis master switched: connections on the old one reconnect',
    );
    for (const redis of this.connections) this.leaveIfDemoted(redis);
  }

  /** Reconnect `redis` (after its retry delay) if it is on the master the Sentinels replaced. */
  private leaveIfDemoted(redis: Redis): void {
    const demoted = this.demoted;
    if (!demoted || Date.now() >= demoted.until || (redis.status !== 'connect' && redis.status !== 'ready')) return;
    const socket = redis.stream as Redis['stream'] | undefined;
    const address = socket?.remoteAddress?.replace(/^::ffff:/, '');
    if (socket?.remotePort !== demoted.port || address === undefined || !demoted.addresses.has(address)) return;
    this.logger.debug({ master: `${demoted.host}:${demoted.port}` }, 'connection on the replaced master: reconnecting');
    redis.disconnect(true);
  }
}

async function addressesOf(host: string): Promise<Set<string>> {
  if (isIP(host)) return new Set([host]);
  try {
    return new Set((await lookup(host, { all: true })).map((a) => a.address));
  } catch {
    return new Set();
  }
}

/** One watch per master name and Sentinels (every connection of the process to it shares it), closed when its last connection ends. */
const watches = new Map<string, SentinelSwitchWatch>();

/** Make `redis`, a connection to the master of `target`, follow the Sentinels' switches. */
export function followSwitches(target: SentinelTarget, redis: Redis, logger: Logger): void {
  const key = `${target.name}@${target.sentinels.map(({ host, port }) => `${host}:${port}`).join(',')}`;
  let watch = watches.get(key);
  if (!watch) {
    watch = new SentinelSwitchWatch(target, logger.child({ module: 'sentinel' }));
    watches.set(key, watch);
  }
  const shared = watch;
  shared.track(redis);
  redis.on('end', () => {
    if (!shared.idle || watches.get(key) !== shared) return;
    watches.delete(key);
    shared.close();
  });
}

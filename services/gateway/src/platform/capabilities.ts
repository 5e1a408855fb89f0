import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Capability, CapabilityName } from './capability.js';
import { IOREDIS_CONNECTION_NAMES, IOREDIS_SHARD_SOCKETS, IOREDIS_SUBSCRIBER_EVENTS } from './ioredis-cluster.js';
import { IOREDIS_TOPOLOGY_REFRESH } from './ioredis-topology.js';
import { LIBUV_READ_STOP } from './socket-read-pause.js';
import { WS_RAW_SOCKET, WS_SENDER_FRAME } from './ws-frames.js';

/** Every library internal the gateway leans on, in CAPABILITY_NAMES's order. */
export const CAPABILITIES: readonly Capability[] = [
  WS_SENDER_FRAME,
  WS_RAW_SOCKET,
  LIBUV_READ_STOP,
  IOREDIS_SHARD_SOCKETS,
  IOREDIS_SUBSCRIBER_EVENTS,
  IOREDIS_CONNECTION_NAMES,
  IOREDIS_TOPOLOGY_REFRESH,
];

/** Which capabilities use their internal, and which fall back. */
export interface CapabilityReport {
  readonly inUse: readonly CapabilityName[];
  readonly fallback: readonly CapabilityName[];
}

/** Probe every capability against the installed libraries (each probe runs once; later calls answer the same). */
export async function checkCapabilities(): Promise<CapabilityReport> {
  const states = await Promise.all(CAPABILITIES.map(async (capability) => ({ name: capability.name, inUse: await capability.inUse() })));
  return {
    inUse: states.filter((state) => state.inUse).map((state) => state.name),
    fallback: states.filter((state) => !state.inUse).map((state) => state.name),
  };
}

/**
 * The start-up check (main.ts): probe every capability, log one line saying
 * which internals are in use and which fell back (a warning when any did), and
 * set each one's gauge, `switchboard_capability{name}` 1 or 0.
 */
export async function reportCapabilities(logger: Logger, metrics: Metrics): Promise<CapabilityReport> {
  const report = await checkCapabilities();
  for (const name of report.inUse) metrics.capability(name, true);
  for (const name of report.fallback) metrics.capability(name, false);
  const log = logger.child({ module: 'platform' });
  if (report.fallback.length === 0) log.info(report, 'library internals: all in use');
  else log.warn(report, 'library internals: some fall back (see platform/)');
  return report;
}

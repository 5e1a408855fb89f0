import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusKind, ErrorCode } from '@switchboard/protocol';
import { ErrorCode as ERROR_CODES } from '@switchboard/protocol';
import type { ProtocolVersion } from '../hub/peer.js';
import { LATENCY_BUCKETS_SECONDS, LatencyWindow } from './latency-window.js';
import {
  API_OUTCOMES,
  API_ROUTE_LABELS,
  EVENT_TYPES,
  PROTOCOLS,
  REFUSAL_REASONS,
  RESUME_OUTCOMES,
  SERVER_CLOSE_REASONS,
  type ApiOutcome,
  type ApiRouteLabel,
  type EventType,
  type Metrics,
  type RefusalReason,
  type ResumeOutcome,
  type ServerCloseReason,
} from './metrics.js';

/** Every metric of Switchboard's own starts with this. */
export const METRIC_PREFIX = 'switchboard_';

/** prom-client default metrics left out: gauges named like counters. */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** What the node's state is read from at each scrape (main.ts wires them once the parts exist). */
export interface HealthProbes {
  /** Whether the bus (Redis, or the memory bus) can carry events now. */
  readonly busUp: () => boolean;
  /** Whether the node takes new clients (its /readyz). */
  readonly ready: () => boolean;
}

/** Running totals the per-second stats record is computed from (see NodeStatsSampler). */
export interface MetricsTally {
  readonly connections: Readonly<Record<ProtocolVersion, number>>;
  /** Chat lines published (events of type `message`). */
  readonly lines: number;
  readonly deliveries: number;
  readonly deliveredBytes: number;
  /** Upgrades and frames refused. */
  readonly refusals: number;
  /** Bus-to-socket latencies since the last sample. */
  readonly latency: LatencyWindow;
}

/**
 * The metrics of a node in the Prometheus text format, on a registry of its own
 * (prom-client's default process and Node.js metrics included, event-loop lag
 * among them). The hot paths (frames, deliveries) add to plain numbers that are
 * handed to prom-client when it is scraped.
 */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly tallies = {
    connections: { v1: 0, v2: 0 } as Record<ProtocolVersion, number>,
    lines: 0,
    deliveries: 0,
    deliveredBytes: 0,
    refusals: 0,
    latency: new LatencyWindow(),
  };
  /** Not yet handed to prom-client. */
  private pending = { frames: 0, deliveries: 0, bytes: 0 };
  private probes: HealthProbes = { busUp: () => false, ready: () => false };

  private readonly opened: Counter<'protocol'>;
  private readonly refused: Counter<'reason'>;
  private readonly serverCloses: Counter<'reason'>;
  private readonly framesRefused: Counter<'code'>;
  private readonly publishedEvents: Counter<'type'>;
  private readonly publishLatency: Histogram;
  private readonly deliveryLatency: Histogram;
  private readonly resumes: Counter<'outcome'>;
  private readonly replayedEvents: Counter;
  private readonly gaps: Counter;
  private readonly lost: Counter;
  private readonly reconnects: Counter;
  private readonly capabilities: Gauge<'name'>;
  private readonly shards: Gauge<'shard'>;
  private readonly unheard: Counter<'shard'>;
  private readonly apiRequests: Counter<'route' | 'outcome'>;

  constructor(info: { readonly node: string; readonly bus: BusKind }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names with `_total`, against the conventions (promtool check metrics refuses them).
    for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    const { tallies, pending } = this;
    // Read at scrape time, so the values are never stale (prom-client calls collect() with the gauge as `this`).
    const probes = () => this.probes;
    // Counters bumped on the hot path as plain numbers, handed to prom-client at scrape time.
    const pendingCounter = (name: string, help: string, key: keyof typeof pending) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.inc(pending[key]);
          pending[key] = 0;
        },
      });

    new Gauge({
      name: 'switchboard_node_info',
      help: 'Always 1: the node id and bus of this gateway process.',
      labelNames: ['node', 'bus'],
      registers,
      collect() {
        this.set(info, 1);
      },
    });
    new Gauge({
      name: 'switchboard_connections',
      help: 'WebSocket connections open now, by protocol.',
      labelNames: ['protocol'],
      registers,
      collect() {
        for (const protocol of PROTOCOLS) this.set({ protocol }, tallies.connections[protocol]);
      },
    });
    this.opened = new Counter({
      name: 'switchboard_connections_opened_total',
      help: 'WebSocket upgrades accepted, by protocol.',
      labelNames: ['protocol'],
      registers,
    });
    this.refused = new Counter({
      name: 'switchboard_connections_refused_total',
      help: 'WebSocket upgrades refused with an HTTP status, by reason (origin, limits, not_ready: 503, not_found: 404, token_*: 401 with identity on).',
      labelNames: ['reason'],
      registers,
    });
    this.serverCloses = new Counter({
      name: 'switchboard_server_closes_total',
      help: 'Connections the node closed itself, by reason (slow_consumer: 4001, heartbeat: no pong, drain: 1012 on SIGTERM, hello_timeout: 4003).',
      labelNames: ['reason'],
      registers,
    });
    pendingCounter('switchboard_client_frames_received_total', 'WebSocket frames received from clients.', 'frames');
    this.framesRefused = new Counter({
      name: 'switchboard_client_frames_refused_total',
      help: 'Client frames answered with an error frame, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.publishedEvents = new Counter({
      name: 'switchboard_events_published_total',
      help: "Events the bus took from this node's clients (lines, renames, connect notices), by type; disconnect notices, which the session registry publishes, are not counted.",
      labelNames: ['type'],
      registers,
    });
    this.publishLatency = new Histogram({
      name: 'switchboard_publish_latency_seconds',
      help: "Seconds from a client's frame (or a notice) to the bus's acknowledgement.",
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    pendingCounter('switchboard_deliveries_total', 'Broadcast events handed to local sockets (one per event and client).', 'deliveries');
    pendingCounter('switchboard_delivered_bytes_total', 'Bytes of broadcast events handed to local sockets.', 'bytes');
    this.deliveryLatency = new Histogram({
      name: 'switchboard_bus_to_socket_latency_seconds',
      help: "Seconds from a live event's time (when its node took the client's frame) to its hand-over to this node's sockets: the bus round trip included.",
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.resumes = new Counter({
      name: 'switchboard_resumes_total',
      help: 'Protocol v2 hellos that named a session, by outcome (resumed, not_replayed, expired).',
      labelNames: ['outcome'],
      registers,
    });
    this.replayedEvents = new Counter({
      name: 'switchboard_replayed_events_total',
      help: 'Events replayed to resuming clients.',
      registers,
    });
    this.gaps = new Counter({
      name: 'switchboard_gaps_repaired_total',
      help: "Gaps in the bus's sequence closed from the history.",
      registers,
    });
    this.lost = new Counter({
      name: 'switchboard_events_lost_total',
      help: 'Events the history no longer had when a gap was repaired: skipped.',
      registers,
    });
    new Gauge({
      name: 'switchboard_bus_up',
      help: '1 while the bus can carry events (Redis connected and subscribed), else 0.',
      registers,
      collect() {
        this.set(probes().busUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchboard_ready',
      help: '1 while the node takes new clients (/readyz is 200), else 0.',
      registers,
      collect() {
        this.set(probes().ready() ? 1 : 0);
      },
    });
    this.reconnects = new Counter({
      name: 'switchboard_redis_reconnects_total',
      help: "Reconnect attempts of the bus's Redis connections.",
      registers,
    });
    this.capabilities = new Gauge({
      name: 'switchboard_capability',
      help: 'Whether a library internal the gateway leans on is in use (1) or its fallback is (0), by capability (see platform/).',
      labelNames: ['name'],
      registers,
    });

    this.shards = new Gauge({
      name: 'switchboard_shard_up',
      help: "1 while the bus's watchdog hears a Redis shard deliver (its probe, and the node's own lines, come back in time), 0 while it does not, by shard (its master, host:port).",
      labelNames: ['shard'],
      registers,
    });
    this.unheard = new Counter({
      name: 'switchboard_shard_unheard_total',
      help: "Times the bus's watchdog found a Redis shard silent (a probe or a room's own line not heard back within SHARD_PROBE_TIMEOUT_MS) and mended it, by shard.",
      labelNames: ['shard'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'switchboard_api_requests_total',
      help: 'Requests to the backend API (/api/* on the metrics port), by route (other: any other path) and outcome (ok, or the refusal: bad_request, unauthorized, not_found, method_not_allowed, payload_too_large, unsupported_media_type, unavailable).',
      labelNames: ['route', 'outcome'],
      registers,
    });

    // Every label value exists from the start, at 0: rate() and the dashboards see it before it first happens.
    for (const protocol of PROTOCOLS) this.opened.inc({ protocol }, 0);
    for (const reason of REFUSAL_REASONS) this.refused.inc({ reason }, 0);
    for (const reason of SERVER_CLOSE_REASONS) this.serverCloses.inc({ reason }, 0);
    for (const code of Object.values(ERROR_CODES)) this.framesRefused.inc({ code }, 0);
    for (const type of EVENT_TYPES) this.publishedEvents.inc({ type }, 0);
    for (const outcome of RESUME_OUTCOMES) this.resumes.inc({ outcome }, 0);
    for (const route of API_ROUTE_LABELS) for (const outcome of API_OUTCOMES) this.apiRequests.inc({ route, outcome }, 0);
  }

  /** Read bus and node health from these at each scrape. */
  observe(probes: HealthProbes): void {
    this.probes = probes;
  }

  /** The Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  tally(): MetricsTally {
    return { ...this.tallies, connections: { ...this.tallies.connections } };
  }

  connectionOpened(protocol: ProtocolVersion): void {
    this.tallies.connections[protocol]++;
    this.opened.inc({ protocol });
  }

  connectionClosed(protocol: ProtocolVersion): void {
    this.tallies.connections[protocol]--;
  }

  connectionRefused(reason: RefusalReason): void {
    this.tallies.refusals++;
    this.refused.inc({ reason });
  }

  closed(reason: ServerCloseReason, count = 1): void {
    this.serverCloses.inc({ reason }, count);
  }

  frameReceived(): void {
    this.pending.frames++;
  }

  frameRefused(code: ErrorCode): void {
    this.tallies.refusals++;
    this.framesRefused.inc({ code });
  }

  published(type: EventType, seconds: number): void {
    if (type === 'message') this.tallies.lines++;
    this.publishedEvents.inc({ type });
    this.publishLatency.observe(Math.max(0, seconds));
  }

  delivered(count: number, bytes: number): void {
    this.tallies.deliveries += count;
    this.tallies.deliveredBytes += bytes;
    this.pending.deliveries += count;
    this.pending.bytes += bytes;
  }

  busToSocketLatency(seconds: number): void {
    const clamped = Math.max(0, seconds); // clocks of two nodes may differ a little
    this.deliveryLatency.observe(clamped);
    this.tallies.latency.observe(clamped);
  }

  resume(outcome: ResumeOutcome): void {
    this.resumes.inc({ outcome });
  }

  replayed(events: number): void {
    this.replayedEvents.inc(events);
  }

  gapRepaired(): void {
    this.gaps.inc();
  }

  eventsLost(events: number): void {
    this.lost.inc(events);
  }

  redisReconnect(): void {
    this.reconnects.inc();
  }

  capability(name: string, inUse: boolean): void {
    this.capabilities.set({ name }, inUse ? 1 : 0);
  }

  shardUp(shard: string, up: boolean): void {
    this.shards.set({ shard }, up ? 1 : 0);
    this.unheard.inc({ shard }, 0);
  }

  shardUnheard(shard: string): void {
    this.unheard.inc({ shard });
  }

  shardGone(shard: string): void {
    this.shards.remove({ shard });
  }

  apiRequest(route: ApiRouteLabel, outcome: ApiOutcome): void {
    this.apiRequests.inc({ route, outcome });
  }
}

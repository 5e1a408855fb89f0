import type { BroadcastEvent, ErrorCode } from '@switchboard/protocol';
import type { ProtocolVersion } from '../hub/peer.js';
import { TOKEN_REFUSALS } from '../auth/token-verifier.js';
import { API_ERRORS, type ApiErrorCode } from '../api/api-error.js';

/**
 * Why an upgrade was refused before it became a connection. A bounded set, so
 * each is one label value: `origin` (an Origin not allowed) and `limits` (too
 * many connections, per node or per address) belong to admission control;
 * `not_ready` is a node that is draining, overloaded or cut off from Redis (503);
 * `not_found` is an upgrade anywhere but /ws (404); `token_*` (identity on) a
 * token missing or refused (401), one label per reason (auth/token-verifier.ts).
 */
export const REFUSAL_REASONS = ['origin', 'limits', 'not_ready', 'not_found', ...TOKEN_REFUSALS] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * Why the node itself closed a connection: a slow consumer (4001), no pong
 * within PONG_TIMEOUT_MS, a drain on SIGTERM (1012), no v2 `hello` in time (4003),
 * a token expired and not refreshed (4010), a v2 `hello` token refused or a
 * refresh whose token allows no room (4012).
 */
export const SERVER_CLOSE_REASONS = ['slow_consumer', 'heartbeat', 'drain', 'hello_timeout', 'token_expired', 'token_invalid'] as const;
export type ServerCloseReason = (typeof SERVER_CLOSE_REASONS)[number];

/**
 * What came of a v2 `hello` that named a session: `resumed` (same session, the
 * missed events replayed), `not_replayed` (same session, but from the head:
 * the events were trimmed, too many, or from another epoch), `expired` (the
 * session was over: a new one was started).
 */
export const RESUME_OUTCOMES = ['resumed', 'not_replayed', 'expired'] as const;
export type ResumeOutcome = (typeof RESUME_OUTCOMES)[number];

export const EVENT_TYPES = ['message', 'nick_update', 'notification'] as const satisfies ReadonlyArray<BroadcastEvent['type']>;
export type EventType = (typeof EVENT_TYPES)[number];

export const PROTOCOLS = ['v1', 'v2'] as const satisfies readonly ProtocolVersion[];

/**
 * The backend API's routes as a label (`/api/publish`, ...: docs/api.openapi.yaml),
 * and `other` for any other path under `/api`: a bounded set whatever is asked.
 */
export const API_ROUTE_LABELS = ['/api/publish', '/api/disconnect', '/api/rooms', '/api/presence', '/api/history', 'other'] as const;
export type ApiRouteLabel = (typeof API_ROUTE_LABELS)[number];

/** What came of an API request: `ok`, or its refusal's code lower-cased (api/api-error.ts: `bad_request`, `unauthorized`...). */
export type ApiOutcome = 'ok' | Lowercase<ApiErrorCode>;
export const API_OUTCOMES: readonly ApiOutcome[] = ['ok', ...(Object.keys(API_ERRORS) as ApiErrorCode[]).map((code) => apiOutcomeOf(code))];

/** The outcome label of a refusal with `code`. */
export function apiOutcomeOf(code: ApiErrorCode): ApiOutcome {
  return code.toLowerCase() as Lowercase<ApiErrorCode>;
}

/**
 * What the gateway tells its metrics, one call per happening. The parts of a
 * node get it through their constructors or options (main.ts picks the
 * implementation), never as a global: PromMetrics when METRICS_PORT is set,
 * noMetrics otherwise. Every method is cheap and never throws.
 */
export interface Metrics {
  /** A WebSocket upgrade was accepted. */
  connectionOpened(protocol: ProtocolVersion): void;
  /** A connection opened with connectionOpened closed, for whatever reason. */
  connectionClosed(protocol: ProtocolVersion): void;
  /** An upgrade was refused with an HTTP status instead of a WebSocket. */
  connectionRefused(reason: RefusalReason): void;
  /** The node closed `count` connections itself, for `reason`. */
  closed(reason: ServerCloseReason, count?: number): void;
  /** A client sent a frame (any frame: hello, line, rename, invalid or not). */
  frameReceived(): void;
  /** A client's frame was refused with an `error` frame carrying `code`. */
  frameRefused(code: ErrorCode): void;
  /** The bus took an event; `seconds` since its node accepted the frame (the draft's `time`). */
  published(type: EventType, seconds: number): void;
  /** `count` broadcast events, `bytes` bytes in all, were handed to local sockets. */
  delivered(count: number, bytes: number): void;
  /** A live event reached this node's sockets `seconds` after its node accepted it (its `time`). */
  busToSocketLatency(seconds: number): void;
  /** A v2 `hello` named a session, with this outcome. */
  resume(outcome: ResumeOutcome): void;
  /** `events` events were replayed to a resuming client. */
  replayed(events: number): void;
  /** A gap in the bus's sequence was closed from the history. */
  gapRepaired(): void;
  /** `events` events could not be had from the history and were skipped. */
  eventsLost(events: number): void;
  /** A Redis connection of the bus started a reconnect attempt. */
  redisReconnect(): void;
  /** Whether the library internal `name` is in use (or its fallback is): the start-up check of platform/. */
  capability(name: string, inUse: boolean): void;
  /** The bus's watchdog heard Redis shard `shard` (its master, `host:port`) deliver (true) or found it silent (false). */
  shardUp(shard: string, up: boolean): void;
  /** The bus's watchdog found shard `shard` silent once more (a probe or a room's own line not heard back in time). */
  shardUnheard(shard: string): void;
  /** Shard `shard` is no longer one (a failover or a reshard moved its slots away): its gauge goes. */
  shardGone(shard: string): void;
  /** The backend API answered a request to `route`, with `outcome`. */
  apiRequest(route: ApiRouteLabel, outcome: ApiOutcome): void;
}

/** The metrics of a node with METRICS_PORT unset (and of unit tests): nothing is counted. */
export const noMetrics: Metrics = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  connectionRefused: () => undefined,
  closed: () => undefined,
  frameReceived: () => undefined,
  frameRefused: () => undefined,
  published: () => undefined,
  delivered: () => undefined,
  busToSocketLatency: () => undefined,
  resume: () => undefined,
  replayed: () => undefined,
  gapRepaired: () => undefined,
  eventsLost: () => undefined,
  redisReconnect: () => undefined,
  capability: () => undefined,
  shardUp: () => undefined,
  shardUnheard: () => undefined,
  shardGone: () => undefined,
  apiRequest: () => undefined,
};

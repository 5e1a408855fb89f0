import { parseRoomName, type RoomName } from '@switchboard/protocol';
import { resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
import { DEFAULT_LIMITS, checkNickname, checkRoom } from './limits.js';
import { seedCodec, v2Codec, type ProtocolCodec, type ProtocolVersion } from './protocol-codec.js';
import type { ResumePoint } from './session.js';
import { TokenSource, type TokenOption } from './token-source.js';
import { resolveWebSocket, type WebSocketConstructor } from './websocket-like.js';

export interface ClientOptions {
  /** The gateway's WebSocket URL, e.g. `ws://localhost:8080/ws`. */
  readonly url: string;
  /** The WebSocket implementation; default the global one (browsers). In Node 20 pass `ws`'s. */
  readonly WebSocket?: WebSocketConstructor;
  /** Default `v2`: offer `switchboard.v2` (a server that answers without it gets v1). `v1`: the seed's protocol only. */
  readonly protocol?: ProtocolVersion;
  /**
   * A nickname to hold. v1: taken after every welcome. v2: taken after a welcome
   * whose name differs (a new session), not after a resume, which keeps the name.
   */
  readonly nickname?: string;
  /**
   * A room to be in (`#dev` or `dev`): joined after the first welcome, and again
   * after any welcome that puts the client elsewhere (a new session starts in
   * `lobby`). Default: the room of `resume`, else wherever the server puts the client.
   */
  readonly room?: string;
  /** Protocol v2: a session to resume on the first connection (e.g. `resumePoint` saved before a page reload). */
  readonly resume?: ResumePoint;
  /** Retry timing, or false to never reconnect. Defaults in DEFAULT_RECONNECT. */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  /**
   * Protocol v2: when a frame is refused with a retryable code (BUS_UNAVAILABLE,
   * RATE_LIMITED), how long to wait before sending it again. Defaults: 250 ms
   * doubling to 2000 ms, jitter 0.5, maxAttempts Infinity (retryable refusals of one frame before it fails).
   * The cap is short so that a line refused while a Redis shard fails over goes out
   * at most 2 s after the shard is back; a server's retryAfterMs still wins when longer.
   */
  readonly sendRetry?: Partial<ReconnectOptions>;
  /**
   * Protocol v2: a frame written and neither acknowledged nor refused within this
   * long, in ms, is written again on the same connection with the same `ref` (the
   * server de-duplicates refs: it is broadcast at most once, and a frame already
   * broadcast is answered with an `ack`). Default 5000.
   */
  readonly ackTimeoutMs?: number;
  /**
   * Protocol v2: a frame that has had no answer at all (no acknowledgement, no
   * refusal) this long after it was written on a connection, in ms, despite the
   * resends, closes that connection (4000: the session survives) and reconnects;
   * the resume sends it again. From the time it was queued, it is also the bound
   * past which its `pending` event says `overdue`. Default 15000; at least ackTimeoutMs.
   */
  readonly ackReconnectMs?: number;
  /** Most frames waiting (v2: for their acknowledgement; v1: for their turn under the pace); past it send() throws OUTBOX_FULL. Default 100. */
  readonly maxOutbox?: number;
  /** How long one attempt may take until the welcome frame, in ms. Default 10000; then it counts as failed. */
  readonly connectTimeoutMs?: number;
  /**
   * Largest frame the client will send, in bytes; larger input throws MESSAGE_TOO_BIG.
   * Default: the limit the server announces in `welcome.limits` (512, the protocol's
   * default, before the first welcome and with servers that announce none). Given,
   * it replaces the announced value, larger or smaller.
   */
  readonly maxMessageBytes?: number;
  /** Source of randomness for jitter, for tests. Default Math.random. */
  readonly random?: () => number;
  /**
   * Identity on (the gateway verifies tokens): the token, or a function giving
   * one (`getToken`), sent in the `token` query parameter of every connection.
   * A function is asked before every connection (the first, each reconnect, the
   * one after an upgrade refused with 401) and before the token in use expires
   * (by its `exp`): the new one is sent on the open connection (v2 `refresh`,
   * v1 `/refresh TOKEN`), without reconnecting. With a plain string, a close
   * with 4010 TOKEN_EXPIRED is final (no newer token can be had).
   */
  readonly token?: TokenOption;
  /** The same as a function `token`: asked for a token before each connection and before expiry. */
  readonly getToken?: () => string | Promise<string>;
}

/** The options with every default filled in and every value checked. */
export interface ResolvedOptions {
  readonly url: string;
  readonly WebSocket: WebSocketConstructor;
  /** The codecs offered, the preferred first. */
  readonly codecs: readonly ProtocolCodec[];
  readonly reconnect: ReconnectOptions | false;
  readonly sendRetry: ReconnectOptions;
  readonly maxOutbox: number;
  readonly ackTimeoutMs: number;
  readonly ackReconnectMs: number;
  readonly connectTimeoutMs: number;
  /** Set only when given: it replaces the announced limit. */
  readonly maxMessageBytes: number | undefined;
  readonly random: () => number;
  readonly nickname: string | undefined;
  readonly room: RoomName | undefined;
  readonly resume: ResumePoint | undefined;
  readonly tokens: TokenSource | undefined;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OUTBOX = 100;
const DEFAULT_ACK_TIMEOUT_MS = 5_000;
const DEFAULT_ACK_RECONNECT_MS = 15_000;
const DEFAULT_SEND_RETRY: Partial<ReconnectOptions> = { initialDelayMs: 250, maxDelayMs: 2_000 };

/** Defaults first, then each value checked; throws naming the first bad one. */
export function resolveClientOptions(options: ClientOptions): ResolvedOptions {
  const url = checkUrl(options.url);
  const WebSocket = resolveWebSocket(options.WebSocket);
  // Checked at run time too: JavaScript callers are not held to the types.
  const protocol = (options.protocol ?? 'v2') as unknown;
  if (protocol !== 'v1' && protocol !== 'v2') throw new RangeError(`protocol must be "v1" or "v2", got "${String(protocol)}"`);
  const ackTimeoutMs = positive(options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS, 'ackTimeoutMs');
  const ackReconnectMs = positive(options.ackReconnectMs ?? Math.max(DEFAULT_ACK_RECONNECT_MS, ackTimeoutMs), 'ackReconnectMs');
  if (ackReconnectMs < ackTimeoutMs) {
    throw new RangeError(`ackReconnectMs must be at least ackTimeoutMs (${ackTimeoutMs}), got ${ackReconnectMs}`);
  }
  return {
    url,
    WebSocket,
    codecs: protocol === 'v2' ? [v2Codec] : [seedCodec],
    reconnect: options.reconnect === false ? false : resolveReconnectOptions(options.reconnect),
    sendRetry: resolveSendRetry(options.sendRetry),
    ackTimeoutMs,
    ackReconnectMs,
    connectTimeoutMs: positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs'),
    maxMessageBytes: options.maxMessageBytes === undefined ? undefined : positive(options.maxMessageBytes, 'maxMessageBytes'),
    random: options.random ?? Math.random,
    maxOutbox: wholePositive(options.maxOutbox ?? DEFAULT_MAX_OUTBOX, 'maxOutbox'),
    nickname: options.nickname === undefined ? undefined : checkNickname(options.nickname, DEFAULT_LIMITS),
    room: options.room === undefined ? undefined : checkRoom(options.room),
    resume: options.resume === undefined ? undefined : checkResumePoint(options.resume),
    tokens: tokenSourceOf(options),
  };
}

/** The defaults under what is given; a longer initialDelayMs given alone raises the default cap to it. */
function resolveSendRetry(given: Partial<ReconnectOptions> | undefined): ReconnectOptions {
  const cap = Math.max(DEFAULT_SEND_RETRY.maxDelayMs!, given?.initialDelayMs ?? 0);
  return resolveReconnectOptions({ ...DEFAULT_SEND_RETRY, maxDelayMs: cap, ...given });
}

function tokenSourceOf(options: ClientOptions): TokenSource | undefined {
  if (options.token !== undefined && options.getToken !== undefined) throw new TypeError('give token or getToken, not both');
  const given = (options.getToken ?? options.token) as unknown;
  if (given === undefined) return undefined;
  if ((typeof given !== 'string' || given.length === 0) && typeof given !== 'function') {
    throw new TypeError('token must be a non-empty string or a function giving one');
  }
  return new TokenSource(given as TokenOption);
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url must be a ws:// or wss:// URL, got "${url}"`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`url must be a ws:// or wss:// URL, got "${url}"`);
  }
  return url;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  return value;
}

function wholePositive(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a whole number > 0, got ${value}`);
  return value;
}

function checkResumePoint(given: ResumePoint): ResumePoint {
  // Checked at run time too: it often comes from storage (sessionStorage) or a JavaScript caller.
  const point = given as Partial<Record<keyof ResumePoint, unknown>> | null;
  const ok =
    typeof point === 'object' &&
    point !== null &&
    typeof point.session === 'string' &&
    point.session.length > 0 &&
    typeof point.id === 'string' &&
    typeof point.epoch === 'string' &&
    typeof point.since === 'number' &&
    Number.isSafeInteger(point.since) &&
    point.since >= 0 &&
    (point.room === undefined || (typeof point.room === 'string' && isRoomName(point.room)));
  if (!ok) throw new TypeError('resume must be { session, id, epoch, since } and an optional room name, as read from client.resumePoint');
  return given;
}

/** A room's name as the server gives it (resumePoint's): already what parseRoomName makes of it. */
function isRoomName(room: string): boolean {
  const parsed = parseRoomName(room);
  return parsed.ok && parsed.room === room;
}

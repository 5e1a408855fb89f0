import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_MESSAGE_BYTES, parseRoomName, systemNotice, validateNickname, type EventDraft, type RoomName } from '@switchboard/protocol';
import type { Logger } from '../logger.js';
import { API_ROUTE_LABELS, apiOutcomeOf, noMetrics, type ApiRouteLabel, type Metrics } from '../metrics/metrics.js';
import type { ApiBackend } from './api-backend.js';
import { ApiError, badField, sendError, sendJson } from './api-error.js';
import { ApiKeys } from './api-keys.js';
import { IdempotentAnswers, isIdempotencyKey, onceKeyOf } from './idempotency.js';
import { readJsonObject } from './request-body.js';

/** Where the API lives on the metrics server. */
export const API_PREFIX = '/api/';

/** The client id of a `message` published with a `from`: no client has it (client ids are longer). */
export const API_CLIENT_ID = 'api';

/** Most lines `/api/history` accepts as its `limit` (the most HISTORY_ON_JOIN can be). */
export const MAX_HISTORY_LIMIT = 1_000;

export interface ApiOptions {
  /** API_KEY: the keys accepted (empty: no API, every `/api/*` is 404). */
  readonly keys: readonly string[];
  /** API_MAX_BODY_BYTES. */
  readonly maxBodyBytes: number;
  /** API_IDEMPOTENCY_TTL_MS. */
  readonly idempotencyTtlMs: number;
}

/** `POST /api/publish`'s answer: where the line landed. */
export interface PublishAnswer {
  readonly room: RoomName;
  readonly seq: number;
  readonly epoch: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** Every route of the API, by path and method (docs/api.openapi.yaml documents each, and a test holds them to it). */
export const API_ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  '/api/publish': 'POST',
  '/api/disconnect': 'POST',
  '/api/rooms': 'GET',
  '/api/presence': 'GET',
  '/api/history': 'GET',
};

/**
 * The backend API, on the metrics server (never the public port): what an
 * application's own servers use to talk to its rooms without a WebSocket.
 * Every request carries `Authorization: Bearer KEY` (ApiKeys); without API_KEY
 * there is no API (404). Bad input is 400 `{"error","message"}` naming the
 * field; a body past API_MAX_BODY_BYTES is 413. Every request is logged once,
 * with its outcome (never its key, its query or its body).
 *
 *   POST /api/publish     {"room","text","from"?}: a line in the room, cluster-wide; Idempotency-Key honoured
 *   POST /api/disconnect  {"user"}: every connection of the user, on every node, closed with 4011
 *   GET  /api/rooms       the rooms with people in them
 *   GET  /api/presence    ?room=: who is in it
 *   GET  /api/history     ?room=&limit=: its last chat lines
 */
export class ApiRoutes {
  private readonly keys: ApiKeys;
  private readonly enabled: boolean;
  private readonly answers: IdempotentAnswers<PublishAnswer>;
  private readonly log: Logger;
  private readonly handlers: Readonly<Record<string, Handler>>;

  constructor(
    private readonly backend: ApiBackend,
    private readonly options: ApiOptions,
    logger: Logger,
    /** Where each request is counted, by route and outcome (`switchboard_api_requests_total`). */
    private readonly metrics: Metrics = noMetrics,
  ) {
    this.keys = new ApiKeys(options.keys);
    this.enabled = options.keys.length > 0;
    this.answers = new IdempotentAnswers(options.idempotencyTtlMs);
    this.log = logger.child({ module: 'api' });
    this.handlers = {
      '/api/publish': (req, res) => this.publish(req, res),
      '/api/disconnect': (req, res) => this.disconnect(req, res),
      '/api/rooms': (_req, res) => this.rooms(res),
      '/api/presence': (_req, res, url) => this.presence(res, url),
      '/api/history': (_req, res, url) => this.history(res, url),
    };
  }

  /** Whether `url` is the API's (then answer() answers it). */
  owns(url: URL): boolean {
    return url.pathname === '/api' || url.pathname.startsWith(API_PREFIX);
  }

  /** Answer one request to the API; never rejects. */
  async answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const started = performance.now();
    let outcome: ApiError | undefined;
    try {
      await this.route(req, res, url);
    } catch (err) {
      outcome = err instanceof ApiError ? err : this.unexpected(err);
      // A body left unread (413) is not read on: the connection goes with the answer.
      if (outcome.code === 'PAYLOAD_TOO_LARGE') res.setHeader('Connection', 'close');
      if (!res.headersSent) sendError(res, outcome);
      else res.destroy();
    }
    this.metrics.apiRequest(routeLabelOf(url.pathname), outcome === undefined ? 'ok' : apiOutcomeOf(outcome.code));
    const line = { method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) };
    if (outcome === undefined) this.log.info(line, 'api request');
    else this.log.info({ ...line, error: outcome.code, reason: outcome.message }, 'api request refused');
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!this.enabled) throw new ApiError('NOT_FOUND', 'No backend API here: API_KEY is not set.');
    if (!this.keys.accepts(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new ApiError('UNAUTHORIZED', 'Authorization: Bearer KEY, with one of API_KEY, is required.');
    }
    const handler = this.handlers[url.pathname];
    const method = API_ROUTES[url.pathname];
    if (handler === undefined || method === undefined) throw new ApiError('NOT_FOUND', `No route ${url.pathname}.`);
    if (req.method !== method) {
      res.setHeader('Allow', method);
      throw new ApiError('METHOD_NOT_ALLOWED', `${url.pathname} takes ${method} only.`);
    }
    await handler(req, res, url);
  }

  private async publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !isIdempotencyKey(key))) {
      throw badField('Idempotency-Key', 'one header of 1 to 255 visible ASCII characters');
    }
    const body = await readJsonObject(req, this.options.maxBodyBytes);
    const room = roomOf(body.room, 'room');
    const text = body.text;
    if (typeof text !== 'string' || text.trim().length === 0) throw badField('text', 'a non-empty string');
    if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw badField('text', `at most ${MAX_MESSAGE_BYTES} bytes (UTF-8)`);
    const from = body.from;
    if (from !== undefined) {
      const refusal = typeof from === 'string' ? validateNickname(from) : undefined;
      if (typeof from !== 'string' || refusal !== undefined) throw badField('from', refusal?.message ?? 'a nickname (a string)');
    }
    const time = Date.now();
    const draft: EventDraft =
      from === undefined
        ? systemNotice(room, text, time)
        : { type: 'message', room, id: API_CLIENT_ID, nickname: from, message: text, time };
    const deliver = async (once?: string): Promise<PublishAnswer> => {
      const result = await this.backend.publish(draft, once).catch((err: unknown) => {
        throw this.unexpected(err);
      });
      if (result.duplicate) res.setHeader('Idempotent-Replayed', 'true');
      return { room, seq: result.seq, epoch: result.epoch };
    };
    let answer: PublishAnswer;
    if (key === undefined) answer = await deliver();
    else {
      const first = { fresh: false };
      answer = await this.answers.answer(key, () => {
        first.fresh = true;
        return deliver(onceKeyOf(key));
      });
      // Answered from this node's own memory of the key: a replay too.
      if (!first.fresh) res.setHeader('Idempotent-Replayed', 'true');
    }
    sendJson(res, 200, answer);
  }

  private async disconnect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, this.options.maxBodyBytes);
    const user = body.user;
    if (typeof user !== 'string' || user.length === 0 || user.length > 255) throw badField('user', 'a string of 1 to 255 characters');
    const report = await this.backend.disconnect(user).catch((err: unknown) => {
      throw this.unexpected(err);
    });
    sendJson(res, 200, { user, nodes: report.nodes, connections: report.connections });
  }

  private async rooms(res: ServerResponse): Promise<void> {
    const rooms = await this.backend.rooms().catch((err: unknown) => {
      throw this.unexpected(err);
    });
    sendJson(res, 200, { rooms });
  }

  private async presence(res: ServerResponse, url: URL): Promise<void> {
    const room = roomOf(url.searchParams.get('room') ?? undefined, 'room');
    const { members, count } = await this.backend.members(room).catch((err: unknown) => {
      throw this.unexpected(err);
    });
    sendJson(res, 200, { room, count, members });
  }

  private async history(res: ServerResponse, url: URL): Promise<void> {
    const room = roomOf(url.searchParams.get('room') ?? undefined, 'room');
    const raw = url.searchParams.get('limit');
    let limit = this.backend.historyOnJoin;
    if (raw !== null) {
      limit = Number(raw);
      if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_HISTORY_LIMIT)
        throw badField('limit', `an integer from 1 to ${MAX_HISTORY_LIMIT}`);
    }
    // A room keeps HISTORY_ON_JOIN lines for newcomers: no more can be had.
    const { head, lines } = await this.backend.recent(room, Math.min(limit, this.backend.historyOnJoin)).catch((err: unknown) => {
      throw this.unexpected(err);
    });
    sendJson(res, 200, { room, epoch: head.epoch, seq: head.seq, lines });
  }

  /** Anything but a refusal: the cluster could not do it (logged with its error; the client hears 503). */
  private unexpected(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    this.log.warn({ err: (err as Error).message }, 'api request failed');
    return new ApiError('UNAVAILABLE', 'The chat cluster cannot be reached right now: nothing was done. Please retry.');
  }
}

/** The route label of a path: one of API_ROUTES, or `other` (a bounded set, whatever the path). */
function routeLabelOf(path: string): ApiRouteLabel {
  return (API_ROUTE_LABELS as readonly string[]).includes(path) && path !== 'other' ? (path as ApiRouteLabel) : 'other';
}

/** A room as `/join` takes it (normalized the same way), else a 400 naming `field`. */
function roomOf(value: unknown, field: string): RoomName {
  if (typeof value !== 'string') throw badField(field, 'a room name (a string)');
  const parsed = parseRoomName(value);
  if (!parsed.ok) throw badField(field, '1 to 32 characters: a-z, 0-9, - and _');
  return parsed.room;
}

import type { ServerResponse } from 'node:http';
import { send } from '../http/send.js';

/** The backend API's error codes, each with its HTTP status. */
export const API_ERRORS = {
  /** A field (or a query parameter, or the body) is missing or wrong: the message names it. */
  BAD_REQUEST: 400,
  /** No `Authorization: Bearer KEY`, or not one of API_KEY. */
  UNAUTHORIZED: 401,
  /** No such route (or no API_KEY: no API at all). */
  NOT_FOUND: 404,
  /** The route has no such method (the `Allow` header lists those it has). */
  METHOD_NOT_ALLOWED: 405,
  /** The body is longer than API_MAX_BODY_BYTES. */
  PAYLOAD_TOO_LARGE: 413,
  /** The body is not `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** The cluster (Redis) cannot be reached now: nothing was done. Retry (with the same Idempotency-Key). */
  UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** A refusal: its code (and so its status) and one sentence; a 400 names the field. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return API_ERRORS[this.code];
  }
}

/** A 400 naming `field`, saying what it must be. */
export function badField(field: string, must: string): ApiError {
  return new ApiError('BAD_REQUEST', `${field}: ${must}`);
}

/** Answer with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('Cache-Control', 'no-store');
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/** Answer with `{"error","message"}`. */
export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: error.code, message: error.message });
}

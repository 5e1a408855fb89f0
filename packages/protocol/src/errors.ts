/**
 * The catalogue of `error` frame codes: stable strings a client can switch on,
 * each with the sentence a person reads.
 */
export const ErrorCode = {
  NICK_REQUIRED: 'NICK_REQUIRED',
  NICK_INVALID: 'NICK_INVALID',
  NICK_TOO_LONG: 'NICK_TOO_LONG',
  EMPTY_MESSAGE: 'EMPTY_MESSAGE',
  RATE_LIMITED: 'RATE_LIMITED',
  BAD_FRAME: 'BAD_FRAME',
  BUS_UNAVAILABLE: 'BUS_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ProtocolErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Thrown by the strict parsers (e.g. parseServerFrame) when input is not a valid frame. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

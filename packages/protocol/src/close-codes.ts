/**
 * The WebSocket close codes a Switchboard connection can end with, in one place:
 * only codes that are actually sent (by the gateway, by ws on its behalf, or by a
 * client). 1000-1015 are RFC 6455's; 4000-4999 are Switchboard's own.
 */
export const CloseCode = {
  /** The client or server ended the session on purpose. */
  NORMAL: 1000,
  /** A malformed WebSocket frame (sent by ws). Do not resend it. */
  PROTOCOL_ERROR: 1002,
  /** A binary frame: the protocol is text only. Do not resend it. */
  UNSUPPORTED_DATA: 1003,
  /** A text frame that is not valid UTF-8 (sent by ws). Do not resend it. */
  INVALID_PAYLOAD: 1007,
  /** A frame larger than MAX_MESSAGE_BYTES (sent by ws). Do not resend it. */
  MESSAGE_TOO_BIG: 1009,
  /** The node is restarting or draining; reconnect (to another node). */
  SERVICE_RESTART: 1012,
  /** The node cannot serve now (e.g. its bus is down); retry later. */
  TRY_AGAIN_LATER: 1013,
  /** The client did not read its frames fast enough and its buffer passed MAX_BUFFERED_BYTES. */
  SLOW_CONSUMER: 4001,
  /** Protocol v2: the first frame was not `hello`, or it did not come within HELLO_TIMEOUT_MS. */
  HELLO_EXPECTED: 4003,
  /**
   * Protocol v2: another connection resumed this session (a duplicated tab, a
   * second device with the same token). A session has one holder; do not resume
   * it again from here (that would take it back): start a new session instead.
   */
  SESSION_RESUMED_ELSEWHERE: 4004,
  /** Identity on: the connection's token expired and no `refresh` came within AUTH_EXPIRY_GRACE_MS. Reconnect with a new token. */
  TOKEN_EXPIRED: 4010,
  /** The application's backend closed every connection of this user (`POST /api/disconnect`). Do not reconnect on your own. */
  DISCONNECTED_BY_SERVER: 4011,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client must not reconnect on its own: resending would fail again. */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.NORMAL,
  CloseCode.PROTOCOL_ERROR,
  CloseCode.UNSUPPORTED_DATA,
  CloseCode.INVALID_PAYLOAD,
  CloseCode.MESSAGE_TOO_BIG,
  CloseCode.HELLO_EXPECTED,
  CloseCode.SESSION_RESUMED_ELSEWHERE,
  CloseCode.DISCONNECTED_BY_SERVER,
]);

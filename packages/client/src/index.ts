export {
  SwitchboardClient,
  type ClientEvents,
  type ClientOptions,
  type CloseInfo,
  type ConnectionState,
  type FrameEvents,
  type Gap,
  type ProtocolVersion,
  type Rejection,
  type ResumeFailure,
  type ResumePoint,
  type StateChange,
} from './client.js';
export { backoffDelay, DEFAULT_RECONNECT, resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { seedDialect, v2Dialect, type Dialect, type ResumeFrom } from './dialect.js';
export { type Acknowledgement, type OutgoingKind } from './outbox.js';
export { SequenceTracker, type Position, type Verdict } from './sequence.js';
export { SocketState, type WebSocketConstructor, type WebSocketLike } from './socket.js';
export type { Listener } from './emitter.js';

export {
  SwitchboardClient,
  type ClientEvents,
  type ClientOptions,
  type CloseInfo,
  type ConnectionState,
  type FrameEvents,
  type StateChange,
} from './client.js';
export { backoffDelay, DEFAULT_RECONNECT, resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export { seedDialect, type Dialect } from './dialect.js';
export { SocketState, type WebSocketConstructor, type WebSocketLike } from './socket.js';
export type { Listener } from './emitter.js';

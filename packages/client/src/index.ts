export { SwitchboardClient } from './client.js';
export type { ClientEvents, FrameEvents } from './events.js';
export type { ClientOptions } from './options.js';
export type { CloseInfo, ConnectionState, StateChange } from './transport.js';
export type { ResumeFailure, ResumePoint } from './session.js';
export type { PendingFrame, Rejection } from './sender.js';
export type { Gap } from './event-order.js';
export { backoffDelay, DEFAULT_RECONNECT, resolveReconnectOptions, type ReconnectOptions } from './backoff.js';
export { ClientError, type ClientErrorCode } from './client-error.js';
export { seedCodec, v2Codec, type ProtocolCodec, type ProtocolVersion, type ResumeFrom } from './protocol-codec.js';
export { type Acknowledgement, type Answer, type Answers, type BroadcastKind, type OutgoingKind } from './outbox.js';
export { DEFAULT_LIMITS } from './limits.js';
export { refreshDelay, tokenExpiry, withToken, type TokenOption } from './token-source.js';
/**
 * The protocol's own types, re-exported for SDK users: a place in a room's one
 * order, the limits a server announces, rooms and the answers about them.
 */
export type { ClientLimits, Position, RoomName, JoinedFrame, MembersFrame, RoomsFrame, MemberInfo, RoomInfo } from '@switchboard/protocol';
export { SocketState, type WebSocketConstructor, type WebSocketLike } from './websocket-like.js';
export type { Listener } from './emitter.js';

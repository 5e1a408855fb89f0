export type { ClientId, NodeId, Nickname, Seq, Epoch, SessionToken } from './ids.js';
export * from './limits.js';
export * from './close-codes.js';
export * from './errors.js';
export * from './frames.js';
export * from './client-input.js';
export * from './server-frames.js';
export * from './messages.js';
export * from './client-frames.js';

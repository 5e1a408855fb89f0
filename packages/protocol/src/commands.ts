import type { ProtocolErrorInfo } from './errors.js';

/**
 * What a client asks for, whichever protocol it speaks: a seed text line and a
 * v2 JSON frame parse to the same commands.
 */
export type ClientCommand =
  | { readonly type: 'message'; readonly message: string; readonly ref?: string }
  | { readonly type: 'nick'; readonly nickname: string; readonly ref?: string };

/** A parsed command, or the refusal to send back (with the frame's `ref`, when it had one). */
export type ParseResult =
  { readonly ok: true; readonly command: ClientCommand } | { readonly ok: false; readonly error: ProtocolErrorInfo; readonly ref?: string };

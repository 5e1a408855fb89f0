import type { ServerFrame } from '@switchboard/protocol';

// Controls (C0, DEL, C1), line/paragraph separators and bidi overrides: printed as
// they are, other people's text could move the cursor, recolour or rewrite the terminal.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this must find
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Text from the network, made safe to print: every control character becomes U+FFFD. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, '\uFFFD');
}

/** Local wall-clock time, HH:MM:SS. */
export function clock(time: number): string {
  const d = new Date(time);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * One printed line per broadcast: `[12:03:04] <ada> hello` for a chat line,
 * `[12:03:05] * ada has connected` for a notice or a rename. Undefined for frames
 * that are not part of the conversation (welcome, error).
 */
export function chatLine(frame: ServerFrame): string | undefined {
  switch (frame.type) {
    case 'message':
      return `[${clock(frame.time)}] <${safeText(frame.nickname)}> ${safeText(frame.message)}`;
    case 'notification':
    case 'nick_update':
      return `[${clock(frame.time)}] * ${safeText(frame.message)}`;
    default:
      return undefined;
  }
}

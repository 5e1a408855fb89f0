import type { RoomName, ServerFrame } from '@switchboard/protocol';

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
 * One printed line per broadcast: `[12:03:04] <ada> hello` for a chat line (a
 * history line too: the terminal sets those apart with separators),
 * `[12:03:05] * ada has connected` for a notice or a rename, `* ada has joined #dev`
 * and `* ada has left #dev` for a move, `* #dev: 12 people joined, 3 left` for a
 * crowd's summary. Undefined for frames that are not part of the conversation
 * (welcome, error, the answers to the client's own requests: see answerLine).
 */
export function chatLine(frame: ServerFrame): string | undefined {
  switch (frame.type) {
    case 'message':
      return `[${clock(frame.time)}] <${safeText(frame.nickname)}> ${safeText(frame.message)}`;
    case 'notification': {
      // Only servers with rooms send these three events, and every one of their broadcasts names its room.
      const text = safeText(frame.message);
      if (frame.event === 'summary') return `[${clock(frame.time)}] * ${roomTag(frame.room)}: ${text}`;
      const where = frame.event === 'joined' || frame.event === 'left' ? ` ${roomTag(frame.room)}` : '';
      return `[${clock(frame.time)}] * ${text}${where}`;
    }
    case 'nick_update':
      return `[${clock(frame.time)}] * ${safeText(frame.message)}`;
    default:
      return undefined;
  }
}

/**
 * The answer to a request of this client, as one printed line at `time`:
 * `* you are in #dev` (a join), `* 3 people in #dev: ada, bob, cy` (/who),
 * `* rooms: #lobby (3), #dev (2)` (/rooms), `* commands: /nick NAME (change your name), …`
 * (/help). Undefined for any other frame.
 */
export function answerLine(frame: ServerFrame, time: number): string | undefined {
  const at = `[${clock(time)}] *`;
  switch (frame.type) {
    case 'joined':
      return `${at} you are in ${roomTag(frame.room)}`;
    case 'members': {
      const names = frame.members.map((m) => safeText(m.nickname)).join(', ');
      const more = frame.count > frame.members.length ? `, and ${frame.count - frame.members.length} more` : '';
      return `${at} ${people(frame.count)} in ${roomTag(frame.room)}${names === '' ? '' : `: ${names}`}${more}`;
    }
    case 'rooms':
      return `${at} rooms: ${frame.rooms.length === 0 ? 'none' : frame.rooms.map((r) => `${roomTag(r.room)} (${r.count})`).join(', ')}`;
    case 'help':
      return `${at} commands: ${frame.commands.map((c) => `${safeText(c.usage)} (${safeText(c.does)})`).join(', ')}`;
    default:
      return undefined;
  }
}

/** `#dev`: a room as people write it. */
export function roomTag(room: RoomName): string {
  return `#${safeText(room)}`;
}

function people(count: number): string {
  return count === 1 ? '1 person' : `${count} people`;
}

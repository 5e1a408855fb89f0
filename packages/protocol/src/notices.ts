import type { Identity, Nickname } from './ids.js';
import type { RoomName } from './room.js';
import type { CommandInfo, EventDraft, MemberInfo, RoomInfo } from './server-frames.js';

/** The human-readable texts of events, worded as the seed words them, and the notices built from them. */

export const connectedText = (nickname: Nickname): string => `${nickname} has connected`;

export const disconnectedText = (nickname: Nickname): string => `${nickname} has disconnected`;

export const nickChangedText = (previous: Nickname, next: Nickname): string => `Client ${previous} changed to ${next}`;

export const welcomeText = (nickname: Nickname): string => `Welcome, ${nickname}! Type /nick NAME to change your name.`;

/** The `message` of an `ack`: a retried frame whose `ref` was already broadcast. */
export const ALREADY_SENT_TEXT = 'Already sent; not sent again.';

/** The `message` of the `ack` that answers an accepted `refresh` (`/refresh TOKEN`). */
export const TOKEN_REFRESHED_TEXT = 'Token refreshed.';

export const joinedText = (nickname: Nickname): string => `${nickname} has joined`;

export const leftText = (nickname: Nickname): string => `${nickname} has left`;

/** A summary of a crowd's comings and goings: "12 people joined, 3 left". */
export const summaryText = (joined: number, left: number): string =>
  [joined > 0 && `${people(joined)} joined`, left > 0 && `${people(left)} left`].filter(Boolean).join(', ');

const people = (n: number): string => (n === 1 ? '1 person' : `${n} people`);

export const youJoinedText = (room: RoomName): string => `You are in #${room}.`;

export const membersText = (room: RoomName, members: readonly MemberInfo[], count: number): string =>
  `${count === 1 ? '1 person' : `${count} people`} in #${room}: ${members.map((m) => m.nickname).join(', ')}${count > members.length ? ', …' : ''}`;

/** What `/help` lists: every command a person can type, in both protocols. */
export const COMMANDS: readonly CommandInfo[] = [
  { usage: '/nick NAME', does: 'change your name' },
  { usage: '/join ROOM', does: 'move to a room (everyone starts in #lobby)' },
  { usage: '/who', does: 'who is in your room' },
  { usage: '/rooms', does: 'which rooms have people in them' },
  { usage: '/help', does: 'this list' },
];

/** What `/help` adds for a connection with a token (identity on): its refresh. */
export const REFRESH_COMMAND_INFO: CommandInfo = {
  usage: '/refresh TOKEN',
  does: 'a new sign-in token for this connection, before yours expires',
};

export const helpText = (commands: readonly CommandInfo[] = COMMANDS): string =>
  `Commands: ${commands.map((c) => `${c.usage} (${c.does})`).join(', ')}. Anything else is a chat line.`;

export const roomsText = (rooms: readonly RoomInfo[]): string =>
  rooms.length === 0 ? 'No rooms.' : `Rooms: ${rooms.map((r) => `#${r.room} (${r.count})`).join(', ')}`;

/** The notices of presence, one per kind of coming or going; `room` is where it is announced. */
export type PresenceEvent = 'connected' | 'disconnected' | 'joined' | 'left';

const PRESENCE_TEXT: Readonly<Record<PresenceEvent, (nickname: Nickname) => string>> = {
  connected: connectedText,
  disconnected: disconnectedText,
  joined: joinedText,
  left: leftText,
};

/** `NICK has connected` (a session starts), `has disconnected` (it ends, whichever node ends it), `has joined`, `has left`. */
export function presenceNotice(event: PresenceEvent, who: Identity, room: RoomName, time: number): EventDraft {
  return { type: 'notification', room, id: who.id, nickname: who.nickname, message: PRESENCE_TEXT[event](who.nickname), event, time };
}

/** `NICK has connected`, as broadcast when a session starts. */
export function connectedNotice(who: Identity, room: RoomName, time: number): EventDraft {
  return presenceNotice('connected', who, room, time);
}

/** `NICK has disconnected`, as broadcast when a session ends (whichever node ends it). */
export function disconnectedNotice(who: Identity, room: RoomName, time: number): EventDraft {
  return presenceNotice('disconnected', who, room, time);
}

/** A room's comings and goings summed up (rooms over PRESENCE_NOTICE_LIMIT); `id` and `nickname` name no one. */
export function summaryNotice(room: RoomName, joined: number, left: number, time: number): EventDraft {
  return { type: 'notification', room, id: '', nickname: '', message: summaryText(joined, left), event: 'summary', joined, left, time };
}

/** A notice from the system (the application's backend, `POST /api/publish` with no `from`); `id` and `nickname` name no one. */
export function systemNotice(room: RoomName, text: string, time: number): EventDraft {
  return { type: 'notification', room, id: '', nickname: '', message: text, event: 'notice', time };
}

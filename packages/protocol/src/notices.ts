import type { Identity, Nickname } from './ids.js';
import type { EventDraft } from './server-frames.js';

/** The human-readable texts of events, worded as the seed words them, and the notices built from them. */

export const connectedText = (nickname: Nickname): string => `${nickname} has connected`;

export const disconnectedText = (nickname: Nickname): string => `${nickname} has disconnected`;

export const nickChangedText = (previous: Nickname, next: Nickname): string => `Client ${previous} changed to ${next}`;

export const welcomeText = (nickname: Nickname): string => `Welcome, ${nickname}! Type /nick NAME to change your name.`;

/** The `message` of an `ack`: a retried frame whose `ref` was already broadcast. */
export const ALREADY_SENT_TEXT = 'Already sent; not sent again.';

/** `NICK has connected`, as broadcast when a session starts. */
export function connectedNotice(who: Identity, time: number): EventDraft {
  return { type: 'notification', id: who.id, nickname: who.nickname, message: connectedText(who.nickname), event: 'connected', time };
}

/** `NICK has disconnected`, as broadcast when a session ends (whichever node ends it). */
export function disconnectedNotice(who: Identity, time: number): EventDraft {
  return { type: 'notification', id: who.id, nickname: who.nickname, message: disconnectedText(who.nickname), event: 'disconnected', time };
}

import type { Nickname } from './ids.js';

/** The human-readable texts of broadcast events, worded as the seed words them. */

export const connectedText = (nickname: Nickname): string => `${nickname} has connected`;

export const disconnectedText = (nickname: Nickname): string => `${nickname} has disconnected`;

export const nickChangedText = (previous: Nickname, next: Nickname): string =>
  `Client ${previous} changed to ${next}`;

export const welcomeText = (nickname: Nickname): string =>
  `Welcome, ${nickname}! Type /nick NAME to change your name.`;

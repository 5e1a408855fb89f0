import type { Nickname } from '@switchboard/protocol';
import type { RoomPermissions } from './room-permissions.js';

/** The user a token names: its `sub`, as the application's backend knows it. */
export type UserId = string;

/** A verified token: who its user is, until when, under which name, in which rooms. */
export interface UserToken {
  readonly sub: UserId;
  /** Its `exp`, ms since the epoch. */
  readonly expiresAt: number;
  /** Its `name` claim: the user's nickname, locked (`/nick` is refused with NICK_LOCKED). */
  readonly name?: Nickname;
  /** Its `rooms` claim. */
  readonly rooms: RoomPermissions;
}

/**
 * Why a token was refused: a bounded set, each one label value of
 * `switchboard_connections_refused_total` and the `reason` of a 401's body.
 * Never the token itself, nor anything read from it.
 */
export const TOKEN_REFUSALS = [
  'token_missing',
  'token_malformed',
  'token_signature',
  'token_algorithm',
  'token_expired',
  'token_not_yet_valid',
  'token_issuer',
  'token_audience',
  'token_claims',
  'token_no_room',
  'token_keys_unavailable',
] as const;
export type TokenRefusal = (typeof TOKEN_REFUSALS)[number];

/** One sentence for a person per refusal: the body of the 401. */
export const TOKEN_REFUSAL_SENTENCES: Readonly<Record<TokenRefusal, string>> = {
  token_missing: 'a token is required (query parameter token, or Authorization: Bearer)',
  token_malformed: 'the token is not a well-formed JWT',
  token_signature: 'the token signature does not verify',
  token_algorithm: 'the token is signed with an algorithm this server does not accept',
  token_expired: 'the token has expired',
  token_not_yet_valid: 'the token is not valid yet (nbf)',
  token_issuer: 'the token is from another issuer',
  token_audience: 'the token is for another audience',
  token_claims: 'the token lacks sub or exp, or its name or rooms claim is malformed',
  token_no_room: 'the token allows no room to start in',
  token_keys_unavailable: 'the signing keys could not be fetched; try again',
};

export type Verified = { readonly ok: true; readonly user: UserToken } | { readonly ok: false; readonly reason: TokenRefusal };

/**
 * Checks connection tokens (JWT): signature against the configured key, the
 * algorithm against an explicit allow-list, `exp` (required), `nbf`, `iss` and
 * `aud` when configured, `sub` (required), `name` and `rooms` when present.
 * Never throws; never touches Redis. Implementation: JoseTokenVerifier.
 *
 * A token whose `rooms` leave no room to start in verifies: a new connection
 * refuses it (startable, below), a refresh closes the connection it would
 * leave roomless (CommandHandler).
 */
export interface TokenVerifier {
  verify(token: string): Promise<Verified>;
}

/** What a new connection may start with: a verified token that allows a room to start in (else `token_no_room`). */
export function startable(verified: Verified): Verified {
  return verified.ok && verified.user.rooms.firstRoom() === undefined ? { ok: false, reason: 'token_no_room' } : verified;
}

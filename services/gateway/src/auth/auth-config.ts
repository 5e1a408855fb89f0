import type { JwtAlgorithm, KeySource } from './jwt-algorithms.js';

/** The identity settings (gateway-config.ts), as the auth parts read them. */
export interface AuthSettings {
  readonly authJwtSecret?: string;
  readonly authJwtPublicKey?: string;
  readonly authJwksUrl?: string;
  readonly authJwtAlgorithms?: readonly JwtAlgorithm[];
  readonly authJwtIssuer?: string;
  readonly authJwtAudience?: string;
  readonly authJwksCooldownMs?: number;
}

/** Which key source is set (the first one, if several are: the configuration refuses that), or undefined: identity off. */
export function keySourceOf(settings: AuthSettings): KeySource | undefined {
  if (settings.authJwtSecret !== undefined) return 'secret';
  if (settings.authJwtPublicKey !== undefined) return 'public-key';
  if (settings.authJwksUrl !== undefined) return 'jwks';
  return undefined;
}

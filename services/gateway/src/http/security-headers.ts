import { resolve } from 'node:path';
import type { RequestHandler } from 'express';

/**
 * The Content-Security-Policy of the bundled page (packages/web): its own
 * script, style and icon, WebSocket and fetches to its own origin, nothing
 * inline, no plugins, no <base>, no form posts, framed only by its own origin.
 */
export const BUNDLED_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

/**
 * The Content-Security-Policy of a page we did not write (a custom PUBLIC_DIR,
 * such as the seed's, with its inline script and a CDN): only what cannot break
 * a page that works unframed, no framing by other sites.
 */
export const CUSTOM_PAGE_CSP = "frame-ancestors 'self'";

/**
 * Security headers on every HTTP answer (the page, its static files, the probes):
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and the
 * bundled page's strict CSP when `publicDir` is the bundled page's folder, else
 * only `frame-ancestors 'self'`.
 */
export function securityHeaders(publicDir: string, bundledDir: string): RequestHandler {
  const headers = {
    'Content-Security-Policy': resolve(publicDir) === resolve(bundledDir) ? BUNDLED_PAGE_CSP : CUSTOM_PAGE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  return (_req, res, next) => {
    res.set(headers);
    next();
  };
}

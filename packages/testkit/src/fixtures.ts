import { fileURLToPath } from 'node:url';

/**
 * A folder to serve as PUBLIC_DIR: a page shaped like the seed's (inline script
 * and handlers, Bootstrap and jQuery from a CDN, innerHTML), which must keep
 * working when a gateway serves a page it did not write.
 */
export const SEED_STYLE_PAGE_DIR = fileURLToPath(new URL('../fixtures/seed-page/', import.meta.url));

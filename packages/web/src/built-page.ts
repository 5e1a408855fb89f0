/**
 * The folder of the built page (`npm run build` puts index.html, app.js,
 * style.css and favicon.svg in dist/public/), as a file: URL: what a server
 * serves, the gateway's default PUBLIC_DIR. The same folder whether this module
 * runs from dist/ or, in tests, from src/. Not part of the page's bundle.
 */
export const BUILT_PAGE_URL: URL = new URL('../dist/public/', import.meta.url);

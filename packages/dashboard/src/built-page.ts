/**
 * The folder of the built dashboard (`npm run build` puts index.html,
 * dashboard.js, dashboard.css and favicon.svg in dist/public/), as a file: URL:
 * what the gateway serves on its metrics port. The same folder whether this
 * module runs from dist/ or, in tests, from src/. Not part of the page's bundle.
 */
export const BUILT_PAGE_URL: URL = new URL('../dist/public/', import.meta.url);

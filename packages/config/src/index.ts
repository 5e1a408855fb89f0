/**
 * Settings declared once: a kind (what a good value is, read with zod), a
 * default, a unit and a meaning. Reading the environment and the flags, `--help`
 * and the README's table all come from the declarations.
 */
export { MUST_NOT_BE_EMPTY, hostPort, integer, kind, list, oneOf, port, readableFile, text, url, type Kind } from './kinds.js';
export { schemaOf, setting, type Setting, type Settings } from './setting.js';
export { ConfigError, readSettings } from './read.js';
export { TABLE_END, TABLE_START, helpText, markdownTable, withSettingsTable } from './docs.js';

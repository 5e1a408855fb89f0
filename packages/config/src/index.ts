/**
 * Settings declared once: a kind (what a good value is, read with zod), a
 * default, a unit and a meaning. Reading the environment and the flags, `--help`
 * and the README's tables all come from the declarations.
 */
export {
  MUST_NOT_BE_EMPTY,
  hostPort,
  integer,
  kind,
  list,
  number,
  oneOf,
  port,
  positiveNumber,
  readableFile,
  text,
  url,
  yesNo,
  type Kind,
} from './kinds.js';
export { schemaOf, setting, type ConfigOf, type Setting, type Settings } from './setting.js';
export { ConfigError, UnknownOptionError } from './config-error.js';
export { readCommandLine, readSettings, type CommandLine } from './read.js';
export { helpRows, helpText } from './help-text.js';
export { TABLE_END, markdownTable, tableIn, tableStart, withSettingsTable, type ReadmeTable } from './readme-table.js';
export { busyPortSentence, type WantedPort } from './port-check.js';

import type { Settings } from './setting.js';

/** `--help`: every setting with its variable, meaning, default, unit and what it accepts. */
export function helpText(command: string, settings: Settings): string {
  const column = 46;
  const rows = Object.values(settings).map((s) => {
    const unit = s.unit === undefined ? '' : ` ${s.unit}`;
    return [
      `  ${`${s.flag} / ${s.env}`.padEnd(column)} ${plain(s.doc)}.`,
      `  ${''.padEnd(column)} default: ${plain(s.defaultDoc)}${unit}; ${s.expects}`,
    ].join('\n');
  });
  return [
    `Usage: ${command} [options]`,
    '',
    'Every option is also read from the environment variable named beside it; a flag wins.',
    'An empty variable counts as unset.',
    '',
    ...rows,
    `  ${'--help, -h'.padEnd(column)} Show this help.`,
    '',
  ].join('\n');
}

/** The README's configuration table, in Markdown. */
export function markdownTable(settings: Settings): string {
  const rows = Object.values(settings).map((s) => `| \`${s.env}\` | \`${s.flag}\` | ${cell(s.defaultDoc)} | ${cell(s.doc)} |`);
  return ['| variable | flag | default | meaning, and what happens past a limit |', '|---|---|---|---|', ...rows].join('\n');
}

/** The comments around the generated table in README.md. */
export const TABLE_START =
  '<!-- settings table: generated from services/gateway/src/config/gateway-config.ts by `npm run docs:config`; edit there -->';
export const TABLE_END = '<!-- end of settings table -->';

/** `readme` with the text between the markers replaced by the table of `settings`. */
export function withSettingsTable(readme: string, settings: Settings): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END}`);
  const before = readme.slice(0, start + TABLE_START.length);
  return `${before}\n${markdownTable(settings)}\n${readme.slice(end)}`;
}

/** Markdown to terminal text: code spans lose their backticks. */
function plain(markdown: string): string {
  return markdown.replaceAll('`', '');
}

/** Text in a Markdown table cell: a pipe would end the cell. */
function cell(markdown: string): string {
  return markdown.replaceAll('|', '\\|');
}

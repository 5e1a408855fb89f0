import type { Settings } from './setting.js';

/** A table of settings in Markdown: variable, flag, default and meaning. */
export function markdownTable(settings: Settings): string {
  const rows = Object.values(settings).map((s) => {
    const env = s.env === undefined ? '' : `\`${s.env}\``;
    return `| ${env} | \`${s.flag}\` | ${cell(s.defaultDoc)} | ${cell(s.doc)} |`;
  });
  return ['| variable | flag | default | meaning, and what happens past a limit |', '|---|---|---|---|', ...rows].join('\n');
}

/** The comment before a generated table in README.md; `source` is the file, from the repository's root, that declares its settings. */
export function tableStart(source: string): string {
  return `<!-- settings table: generated from ${source} by \`npm run docs:config\`; edit there -->`;
}

/** The comment after a generated table. */
export const TABLE_END = '<!-- end of settings table -->';

/** A table of settings in the README, and the file that declares them (from the repository's root). */
export interface ReadmeTable {
  readonly source: string;
  readonly settings: Settings;
}

/** The table of `table.source` as it stands in `readme` (between its markers), or undefined without them. */
export function tableIn(readme: string, table: ReadmeTable): string | undefined {
  const at = markersIn(readme, table.source);
  return at && readme.slice(at.start + tableStart(table.source).length, at.end).trim();
}

/** `readme` with the text between the markers of `table.source` replaced by its table. */
export function withSettingsTable(readme: string, table: ReadmeTable): string {
  const start = tableStart(table.source);
  const at = markersIn(readme, table.source);
  if (at === undefined) throw new Error(`README.md needs the markers ${start} and ${TABLE_END}`);
  return `${readme.slice(0, at.start + start.length)}\n${markdownTable(table.settings)}\n${readme.slice(at.end)}`;
}

/** Where the table of `source` starts, and where the end marker after it is. */
function markersIn(readme: string, source: string): { start: number; end: number } | undefined {
  const start = readme.indexOf(tableStart(source));
  const end = start === -1 ? -1 : readme.indexOf(TABLE_END, start);
  return end === -1 ? undefined : { start, end };
}

/** Text in a Markdown table cell: a pipe would end the cell. */
function cell(markdown: string): string {
  return markdown.replaceAll('|', '\\|');
}

import type { Setting, Settings } from './setting.js';

/** Where the meaning of an option starts in `--help`. */
const COLUMN = 46;

/**
 * `--help`: `Usage: <usage>`, then every setting with its flag and variable,
 * meaning, default, unit and what it accepts.
 */
export function helpText(usage: string, settings: Settings): string {
  const all = Object.values(settings);
  const fromEnv = all.every((s) => s.env !== undefined)
    ? 'Every option is also read from the environment variable named beside it; a flag wins.'
    : 'An option with an environment variable named beside it is also read from it; a flag wins.';
  return [
    `Usage: ${usage}`,
    '',
    fromEnv,
    'An empty variable counts as unset.',
    '',
    helpRows(settings),
    `  ${'--help, -h'.padEnd(COLUMN)} Show this help.`,
    '',
  ].join('\n');
}

/** The settings' lines of `--help`, two per setting: for a program whose help says more around them. */
export function helpRows(settings: Settings): string {
  return Object.values(settings).map(helpRow).join('\n');
}

function helpRow(s: Setting): string {
  const unit = s.unit === undefined ? '' : ` ${s.unit}`;
  const names = s.env === undefined ? s.flag : `${s.flag} / ${s.env}`;
  return [`  ${names.padEnd(COLUMN)} ${plain(s.doc)}.`, `  ${''.padEnd(COLUMN)} default: ${plain(s.defaultDoc)}${unit}; ${s.expects}`].join(
    '\n',
  );
}

/** Markdown to terminal text: code spans lose their backticks. */
function plain(markdown: string): string {
  return markdown.replaceAll('`', '');
}

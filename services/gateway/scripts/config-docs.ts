/**
 * `npm run docs:config`: rewrite the configuration table in README.md from the
 * settings in src/config/gateway-config.ts. The config unit test fails while the two differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { README_TABLE } from '../src/config/gateway-config.js';
import { withSettingsTable } from '@switchboard/config';

const readmePath = fileURLToPath(new URL('../../../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
const updated = withSettingsTable(readme, README_TABLE);
if (updated === readme) {
  console.log('README.md: the configuration table is up to date');
} else {
  writeFileSync(readmePath, updated);
  console.log('README.md: the configuration table was rewritten from services/gateway/src/config/gateway-config.ts');
}

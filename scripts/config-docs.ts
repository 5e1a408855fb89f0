/**
 * `npm run docs:config`: rewrite the settings tables in README.md from the files
 * that declare them (the gateway's, `npm run cluster`'s). A unit test of each
 * fails while its table and its settings differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withSettingsTable } from '@switchboard/config';
import { README_TABLE as CLUSTER } from '../infra/cluster/src/cluster-settings.js';
import { README_TABLE as GATEWAY } from '../services/gateway/src/config/gateway-config.js';

const TABLES = [GATEWAY, CLUSTER];

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
const updated = TABLES.reduce(withSettingsTable, readme);
if (updated === readme) {
  console.log('README.md: the settings tables are up to date');
} else {
  writeFileSync(readmePath, updated);
  console.log(`README.md: the settings tables were rewritten from ${TABLES.map((table) => table.source).join(', ')}`);
}

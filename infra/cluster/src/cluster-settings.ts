/**
 * `npm run cluster`'s settings, each an environment variable and a flag
 * (`GATEWAYS=5 npm run cluster` or `npm run cluster -- --gateways 5`). `--help`
 * and the README's table under "The same topology without Docker" come from here.
 */
import { z } from 'zod';
import {
  helpText as helpFor,
  integer,
  kind,
  port,
  readSettings,
  readableFile,
  schemaOf,
  setting,
  text,
  type ConfigOf,
  type Kind,
  type ReadmeTable,
} from '@switchboard/config';

export const SETTINGS = {
  gateways: setting({
    env: 'GATEWAYS',
    kind: integer(1, 16),
    default: 3,
    unit: 'gateways',
    doc: 'how many gateways, each on a free port of 127.0.0.1 with its own metrics port',
  }),
  lbPort: setting({
    env: 'LB_PORT',
    kind: port(),
    default: 8080,
    doc: "the load balancer's port (`0` picks a free one)",
  }),
  lbHost: setting({
    env: 'LB_HOST',
    kind: text(),
    default: '127.0.0.1',
    doc: "the load balancer's address",
  }),
  lbTlsCert: setting({
    env: 'LB_TLS_CERT',
    kind: readableFile(),
    defaultDoc: 'unset (plain HTTP)',
    doc: "a PEM file of certificate, chain and key (HAProxy's format, e.g. from `npm run dev-cert`): HTTPS and WSS on `LB_PORT`, TLS ending at HAProxy",
  }),
  lbHttpPort: setting({
    env: 'LB_HTTP_PORT',
    kind: port(),
    defaultDoc: 'a free one',
    doc: 'with `LB_TLS_CERT`: a plain HTTP port that redirects to `LB_PORT` (but `/healthz` and `/readyz`; `0` picks a free one)',
  }),
  redisMasters: setting({
    env: 'REDIS_MASTERS',
    kind: redisMasters(),
    default: 0,
    unit: 'masters',
    doc: 'run the gateways on a Redis Cluster of this many masters (their `REDIS_CLUSTER`) instead of one redis-server (`0`)',
  }),
};

/** This table in the README (`npm run docs:config`). */
export const README_TABLE: ReadmeTable = { source: 'infra/cluster/src/cluster-settings.ts', settings: SETTINGS };

const schema = schemaOf(SETTINGS);

/** What `npm run cluster` is told: one field per entry of SETTINGS. */
export type ClusterSettings = Readonly<ConfigOf<typeof SETTINGS>>;

/**
 * Read the settings from the environment, then from flags (a flag wins). Throws
 * ConfigError naming the setting when a value is bad; 'help' for `--help` or `-h`.
 */
export function loadClusterSettings(argv: readonly string[], env: NodeJS.ProcessEnv): ClusterSettings | 'help' {
  return readSettings(SETTINGS, schema, argv, env);
}

/** `npm run cluster -- --help`. */
export function helpText(): string {
  return helpFor('npm run cluster -- [options]', SETTINGS);
}

/** A Redis Cluster needs three masters at least; 0 is one redis-server. */
function redisMasters(): Kind<number> {
  return kind('0 (one redis-server) or a whole number from 3 to 16', (error) =>
    z
      .string()
      .trim()
      .regex(/^\d+$/, { error })
      .transform(Number)
      .pipe(z.int().refine((masters) => masters === 0 || (masters >= 3 && masters <= 16), { error })),
  );
}

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** `npm run dev-cert`: the one place that calls openssl; tests use it as developers do. */
export const DEV_CERT_SCRIPT = fileURLToPath(new URL('../../../scripts/dev-cert.sh', import.meta.url));

/** A throwaway authority and a server certificate it signed for localhost, 127.0.0.1 and ::1. */
export interface TestCertificates {
  /** The folder that holds them all. */
  readonly dir: string;
  /** The authority's certificate: what a client trusts (`ca`, `--ca`, E2E_CA). */
  readonly caFile: string;
  /** Its key: not the server certificate's, so TLS_KEY=caKeyFile does not match TLS_CERT=certFile. */
  readonly caKeyFile: string;
  /** The server certificate (TLS_CERT). */
  readonly certFile: string;
  /** Its private key (TLS_KEY). */
  readonly keyFile: string;
  /** Certificate and key in one file, HAProxy's format (LB_TLS_CERT). */
  readonly pemFile: string;
  /** The authority's certificate, read: pass it as `{ ca }` to ws, https or tls. */
  readonly ca: Buffer;
  /** Remove the folder. */
  dispose(): void;
}

/**
 * Make a fresh authority and server certificate with Debian's openssl, through
 * scripts/dev-cert.sh, into a new temp folder. Nothing is shared between runs.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-'));
  try {
    await promisify(execFile)('bash', [DEV_CERT_SCRIPT, '--out', dir, '--quiet']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const { stderr, message } = err as { stderr?: string; message: string };
    throw new Error(`cannot make test certificates with ${DEV_CERT_SCRIPT}: ${stderr || message}`, { cause: err });
  }
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    caKeyFile: join(dir, 'ca.key'),
    certFile: join(dir, 'switchboard.crt'),
    keyFile: join(dir, 'switchboard.key'),
    pemFile: join(dir, 'switchboard.pem'),
    ca: readFileSync(caFile),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

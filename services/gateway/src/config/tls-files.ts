import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { readableFile, type Kind } from '@switchboard/config';

/** A readable file whose first PEM block is a certificate (the server's, before any intermediates). */
export function certificateFile(): Kind<string> {
  return pemFile('a PEM certificate', (pem) => new X509Certificate(pem));
}

/** A readable file holding an unencrypted PEM private key (alone, or after the certificate). */
export function privateKeyFile(): Kind<string> {
  return pemFile('an unencrypted PEM private key', (pem) => createPrivateKey(pem));
}

/**
 * What is wrong with a certificate and key given together, in words naming the
 * settings (`certEnv`, `keyEnv`), or undefined when nothing is: both or neither
 * must be set, and the key must be the certificate's. Each file is known to parse.
 */
export function tlsPairProblem(cert: string | undefined, key: string | undefined, certEnv: string, keyEnv: string): string | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (key === undefined) return `${keyEnv} must be set when ${certEnv} is (both or neither)`;
  if (cert === undefined) return `${certEnv} must be set when ${keyEnv} is (both or neither)`;
  const matches = attempt(() => new X509Certificate(readFileSync(cert)).checkPrivateKey(createPrivateKey(readFileSync(key))));
  if (matches === false) return `${keyEnv} (${key}) is not the private key of the certificate in ${certEnv} (${cert})`;
  return undefined;
}

function pemFile(holding: string, parse: (pem: Buffer) => unknown): Kind<string> {
  const readable = readableFile();
  return {
    expects: `the path of a readable file holding ${holding}`,
    schema: readable.schema.pipe(
      z.string().refine((path) => attempt(() => parse(readFileSync(path))) !== undefined, { error: `must be a file holding ${holding}` }),
    ),
  };
}

/** `run()`'s result, or undefined when it throws. */
function attempt<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { WebSocket, type ClientOptions } from 'ws';
import type { WebSocketConstructor } from '@switchboard/client';
import { UsageError } from './args.js';

/**
 * `ws` with `options` on every connection it opens. The SDK takes a WebSocket
 * constructor, not options: this is how TLS options (`ca`, client certificates)
 * reach it in Node.
 */
export function webSocketWith(options: ClientOptions): WebSocketConstructor {
  class Configured extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, options);
    }
  }
  return Configured;
}

/**
 * `--ca FILE`: the authorities Node trusts anyway (its bundled ones and
 * NODE_EXTRA_CA_CERTS) and those in FILE. Adding, not replacing: a `ca` option
 * alone would make every other authority untrusted. Throws UsageError when FILE
 * cannot be read or holds no PEM certificate.
 */
export function authoritiesWith(file: string, env: Readonly<Record<string, string | undefined>>): string[] {
  const extra = [readPem(file, '--ca')];
  if (env.NODE_EXTRA_CA_CERTS) extra.push(readPem(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS'));
  return [...rootCertificates, ...extra];
}

function readPem(file: string, name: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`${name}: ${file} holds no PEM certificate`);
  }
  return pem;
}

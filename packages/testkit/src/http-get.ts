import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpGetOptions {
  /** Authorities to trust for https:// (Node's fetch cannot be given one). */
  readonly ca?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * GET `url` (http:// or https://) and read the whole answer. Redirects are not
 * followed: the answer is the redirect. Rejects on any network or TLS failure.
 */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const request = (secure ? httpsRequest : httpRequest)(
      target,
      { method: 'GET', headers: options.headers, timeout: options.timeoutMs ?? 10_000, ...(secure && { ca: options.ca }) },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer in ${options.timeoutMs ?? 10_000} ms`)));
    request.on('error', reject);
    request.end();
  });
}

import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import type { RedisServer } from '@switchboard/testkit';

/** The answer to a bare WebSocket upgrade: its status and, for a refusal, its JSON body. */
export interface UpgradeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly socket?: Socket;
}

/** A bare WebSocket upgrade to `path` with `headers`: the HTTP answer, 101 or a refusal. */
export function tryUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.once('upgrade', (res, socket) => resolve({ status: res.statusCode!, body: {}, socket }));
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Commands Redis has run, in all, but for INFO (the test's own questions). */
export async function redisCommands(redis: RedisServer): Promise<number> {
  const stats = await redis.cli('INFO', 'commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && !match[1]!.startsWith('command')) calls += Number(match[2]);
  }
  return calls;
}

/** An HS256 token signed with `secret`: `claims`, `exp` in `ttlSec` seconds unless the claims say otherwise. */
export function hsToken(secret: string, claims: JWTPayload, ttlSec = 600): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + ttlSec)
    .sign(new TextEncoder().encode(secret));
}

/** A token with `alg: none` and no signature: what no server may accept. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

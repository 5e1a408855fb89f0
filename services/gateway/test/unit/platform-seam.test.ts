import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The gateway's sources, and the one folder of them allowed to touch library internals. */
const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const PLATFORM = 'platform/';

/** What names an internal of ws (`_socket`), libuv (`_handle`, `readStop`, `readStart`) or ioredis (its sharded subscribers, `+subscriber`). */
const INTERNALS = ['_socket', '_handle', 'readStop', 'readStart', 'shardedSubscribers', '+subscriber'];

/** A word as a whole name: `._socket` is one, `switchboard_bus_to_socket_...` is not. */
const asName = (word: string) => new RegExp(`(?<![\\w$])${word.replace(/[+]/g, '\\+')}(?![\\w$])`);
const PATTERNS = INTERNALS.map((word) => [word, asName(word)] as const);

/** Every .ts file under `dir`, as paths relative to SRC. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** `file: word` for each internal each file mentions. */
function mentions(files: readonly string[]): string[] {
  return files.flatMap((file) => {
    const text = readFileSync(join(SRC, file), 'utf8');
    return PATTERNS.filter(([, pattern]) => pattern.test(text)).map(([word]) => `${file}: ${word}`);
  });
}

describe('the platform seam', () => {
  const files = sources(SRC);
  const inPlatform = files.filter((file) => file.startsWith(PLATFORM));

  it('is the only place in services/gateway/src that mentions a library internal', () => {
    assert.deepEqual(mentions(files.filter((file) => !file.startsWith(PLATFORM))), []);
  });

  it('does mention each of them, where they are used (so the scan above sees them)', () => {
    assert.ok(asName('_socket').test('(ws as Internals)._socket.write(x)') && !asName('_socket').test('switchboard_bus_to_socket_latency'));
    const found = new Set(mentions(inPlatform).map((mention) => mention.split(': ')[1]));
    assert.deepEqual(
      INTERNALS.filter((word) => !found.has(word)),
      [],
    );
  });
});

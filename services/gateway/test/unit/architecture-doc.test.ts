import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * docs/architecture.md and the README's layout describe the house; these tests
 * keep them true: every path they name exists, and every folder of the gateway
 * and every package is named.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const GATEWAY_SRC = 'services/gateway/src/';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const exists = (path: string): boolean => existsSync(join(ROOT, path));
/** The folders in `path` that hold something (git keeps no empty folder: a clone has none). */
const foldersIn = (path: string): string[] =>
  readdirSync(join(ROOT, path), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && readdirSync(join(ROOT, path, entry.name)).length > 0)
    .map((entry) => entry.name);

/** The first fenced block of `markdown` after the line `after` (or the first block at all). */
function codeBlock(markdown: string, after?: string): string[] {
  const from = after === undefined ? 0 : markdown.indexOf(after);
  assert.notEqual(from, -1, `a line "${after}"`);
  const open = markdown.indexOf('```\n', from);
  const close = markdown.indexOf('\n```', open + 4);
  return markdown.slice(open + 4, close).split('\n');
}

/** Paths named by a tree block: top-level lines from the root, lines indented under `services/gateway/src/` from there. */
function treePaths(lines: readonly string[]): string[] {
  const paths: string[] = [];
  for (const line of lines) {
    const word = /^(\s*)(\S+)/.exec(line);
    if (!word || !/[/.]/.test(word[2]!)) continue;
    paths.push(word[1]!.length > 0 ? `${GATEWAY_SRC}${word[2]}` : word[2]!);
  }
  return paths;
}

describe('docs/architecture.md', () => {
  const doc = read('docs/architecture.md');

  it('names only files and folders that exist', () => {
    const named = [...doc.matchAll(/`((?:services|packages|infra|bench|e2e|docs|scripts)\/[^`\s]*)`/g)].map((m) => m[1]!);
    assert.ok(named.length > 20, 'the path of a chat line names its files');
    const tree = treePaths(codeBlock(doc));
    for (const path of [...named, ...tree]) assert.ok(exists(path), `${path} (named in docs/architecture.md) exists`);
  });

  it('names every folder of the gateway and every package in its picture of the house', () => {
    const tree = new Set(treePaths(codeBlock(doc)).map((path) => path.replace(/\/$/, '')));
    for (const folder of foldersIn(GATEWAY_SRC))
      assert.ok(tree.has(`${GATEWAY_SRC}${folder}`), `${GATEWAY_SRC}${folder}/ is in the picture`);
    for (const folder of foldersIn('packages')) assert.ok(tree.has(`packages/${folder}`), `packages/${folder}/ is in the picture`);
  });
});

describe("the README's layout", () => {
  const readme = read('README.md');
  const layout = codeBlock(readme, '\nLayout:\n');

  it('names only folders that exist, and every package', () => {
    const firsts = layout.map((line) => /^(\S+\/)\s/.exec(line)?.[1]).filter((path) => path !== undefined);
    for (const path of firsts) assert.ok(exists(path), `${path} (README layout) exists`);
    for (const folder of foldersIn('packages')) assert.ok(firsts.includes(`packages/${folder}/`), `packages/${folder}/ is in the layout`);
  });

  it("lists the gateway's folders as they are", () => {
    const start = layout.findIndex((line) => line.startsWith('services/gateway/'));
    const gatewayLines = [layout[start]!];
    for (let i = start + 1; layout[i]?.startsWith(' '); i++) gatewayLines.push(layout[i]!);
    const listed = [...gatewayLines.join(' ').matchAll(/(?<=[\s,])([a-z-]+)\/(?=[,;\s]|$)/g)].map((m) => m[1]!);
    assert.deepEqual(listed.sort(), foldersIn(GATEWAY_SRC).sort());
  });
});

describe('links in the README and docs/', () => {
  for (const file of [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ]) {
    it(`${file} links only to files that exist`, () => {
      const base = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http:, https:, mailto:
        assert.ok(exists(join(base, target!)), `${target} (linked from ${file}) exists`);
      }
    });
  }
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** axe-core's browser build, injected into a page as it is. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The rules of WCAG 2.0 and 2.1, levels A and AA, as axe-core tags them. */
export const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

/**
 * What axe-core finds against WCAG 2.1 AA on the page as it stands, one line per
 * rule broken: its id, what it asks, and the elements that break it. Injected
 * through the debugging protocol (page.evaluate), so the page's
 * Content-Security-Policy, which forbids inline scripts, stays as it is.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate<Array<{ id: string; help: string; nodes: Array<{ target: string[]; failureSummary?: string }> }>>(
    `axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_21_AA)} }, resultTypes: ['violations'] }).then((r) => r.violations)`,
  );
  return found.map(
    (rule) => `${rule.id}: ${rule.help} (${rule.nodes.map((node) => `${node.target.join(' ')}: ${node.failureSummary ?? ''}`).join('; ')})`,
  );
}

import { formatRate, formatUptime, isNodeStats, type ClusterSnapshot, type NodeStats } from '@switchboard/protocol';
import { safeText } from './format.js';

/** Where `switchboard status` looks without --url: a gateway's METRICS_PORT on this machine. */
export const DEFAULT_METRICS_URL = 'http://localhost:9464';
/** How long to wait for /cluster.json, in ms. */
const FETCH_TIMEOUT_MS = 5_000;

const COLUMNS = ['NODE', 'HEALTH', 'CONNS', 'V2', 'LINES/S', 'DELIV/S', 'P99 MS', 'LAG MS', 'REFUSED/S', 'UP'] as const;

/** Read `/cluster.json` from a gateway's metrics port (the same JSON the dashboard page reads). */
export async function fetchCluster(metricsUrl: string): Promise<ClusterSnapshot> {
  const url = new URL('cluster.json', metricsUrl.endsWith('/') ? metricsUrl : `${metricsUrl}/`);
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const body = (await response.json()) as Partial<ClusterSnapshot>;
  if (!Array.isArray(body.nodes) || !body.nodes.every(isNodeStats) || typeof body.at !== 'number') {
    throw new Error(`${url.href} is not a Switchboard cluster report`);
  }
  return body as ClusterSnapshot;
}

/**
 * The dashboard's table for a terminal: one row per node, a totals line, and
 * why each node that is not ready is not. Text from the network is defused.
 */
export function statusTable(snapshot: ClusterSnapshot): string {
  const rows = snapshot.nodes.map((n) => [
    safeText(n.node),
    n.ready ? 'ready' : 'NOT READY',
    String(n.connections),
    String(n.connectionsV2),
    formatRate(n.linesPerSec),
    formatRate(n.deliveriesPerSec),
    n.latencyP99Ms === null ? '-' : n.latencyP99Ms.toFixed(1),
    n.eventLoopLagMs.toFixed(1),
    formatRate(n.refusalsPerSec),
    formatUptime(snapshot.at - n.startedAt),
  ]);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  // Names and health read left to right; numbers line up on the right.
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const sum = (pick: (n: NodeStats) => number) => snapshot.nodes.reduce((total, n) => total + pick(n), 0);
  const ready = snapshot.nodes.filter((n) => n.ready).length;
  const out = [line(COLUMNS), ...rows.map(line), ''];
  out.push(
    `${snapshot.nodes.length} node${snapshot.nodes.length === 1 ? '' : 's'}, ${ready} ready · ${sum((n) => n.connections)} connections · ` +
      `${formatRate(sum((n) => n.linesPerSec))} lines/s · ${formatRate(sum((n) => n.deliveriesPerSec))} deliveries/s · served by ${safeText(snapshot.servedBy)}`,
  );
  for (const n of snapshot.nodes) if (!n.ready) out.push(`${safeText(n.node)} is not ready: ${safeText(n.reason ?? 'no reason given')}`);
  return `${out.join('\n')}\n`;
}

/**
 * `switchboard status`: print the table. Exit status 0 when every node is
 * ready, 1 when one is not or the report cannot be read.
 */
export async function runStatus(metricsUrl: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let snapshot: ClusterSnapshot;
  try {
    snapshot = await fetchCluster(metricsUrl);
  } catch (error) {
    err.write(`switchboard status: cannot read ${metricsUrl}: ${(error as Error).message}\n`);
    return 1;
  }
  out.write(statusTable(snapshot));
  return snapshot.nodes.length > 0 && snapshot.nodes.every((n) => n.ready) ? 0 : 1;
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root logger: structured JSON on stdout, every line stamped with the node id.
 * Modules take a child (`logger.child({ module: 'hub' })`); connections a child of
 * that with their `conn` id.
 */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId } });
}

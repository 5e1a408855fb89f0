import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root logger: structured JSON on stdout, every line stamped with the node id.
 * Modules take a child (`logger.child({ module: 'hub' })`); a connection makes a child
 * of that with its `conn` id when it logs, and keeps none (memory per idle connection).
 */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId } });
}

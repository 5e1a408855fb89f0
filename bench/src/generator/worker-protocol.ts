/** What the coordinator and a generator worker say to each other over the IPC channel. */
import type { ClientKind } from '../systems/system.js';
import type { HistogramData } from './histogram.js';

/** One client to connect: where, which room it joins, whether its deliveries are measured, where it goes when its node dies. */
export interface ClientSpec {
  readonly url: string;
  /**
   * After the welcome, join this room (its index; the name by roomName()) and
   * count as connected once the server says it is in; its lines are said there,
   * and a line of another room reaching it is counted as a stray, not a delivery.
   */
  readonly room?: number;
  /** Count its deliveries and their latency (else it only receives). */
  readonly record: boolean;
  /** When the server drops it, reconnect at once to one of these, at random. */
  readonly reconnectTo?: readonly string[];
}

export interface ConnectArgs {
  readonly kind: ClientKind;
  readonly clients: readonly ClientSpec[];
  /** How many connect at once; the next batch starts when the whole batch is welcomed. */
  readonly batch: number;
  /** Per-client wait for the welcome, ms. */
  readonly timeoutMs: number;
  /** Start no new batch after this long, ms. */
  readonly deadlineMs: number;
}

export interface ConnectResult {
  readonly connected: number;
  readonly failed: number;
  /** Clients never tried because the deadline passed. */
  readonly skipped: number;
  readonly startUs: number;
  /** When the last client was welcomed. */
  readonly lastWelcomeUs: number;
  readonly firstError?: string;
}

export interface SendArgs {
  readonly phase: number;
  /** Lines per second, over all of this worker's senders together. */
  readonly rate: number;
  readonly durationMs: number;
  readonly bytes: number;
  /** Indexes of this worker's clients that send, in turn. */
  readonly senders: readonly number[];
}

export interface SendResult {
  readonly sent: number;
  /** Lines not sent because their sender was not connected. */
  readonly skipped: number;
  readonly startUs: number;
  readonly endUs: number;
}

export interface PhaseStats {
  /** Deliveries of this phase's lines to recording clients (in a room: lines of that room only). */
  readonly received: number;
  /** Lines of this phase that reached a client in another room than theirs. */
  readonly strays: number;
  readonly latency: HistogramData;
  /** When the latest of them arrived. */
  readonly lastUs: number;
}

export interface WorkerStats {
  readonly phases: Record<number, PhaseStats>;
  /** Every frame or event received by any client, lines and notices. */
  readonly frames: number;
  readonly notices: number;
  readonly errors: number;
  /** Connections the servers ended, by close code or reason. */
  readonly closes: Record<string, number>;
  readonly open: number;
  readonly reconnecting: number;
  readonly reconnected: number;
  /** Reconnect attempts that failed (and were tried again), with the first reason. */
  readonly reconnectFailures: number;
  readonly reconnectError?: string;
  readonly lastReconnectUs: number;
}

export type Request =
  | { readonly id: number; readonly op: 'connect'; readonly args: ConnectArgs }
  | { readonly id: number; readonly op: 'send'; readonly args: SendArgs }
  | { readonly id: number; readonly op: 'stats'; readonly args: { readonly phases: readonly number[] } }
  | { readonly id: number; readonly op: 'close'; readonly args: Record<string, never> };

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

import type { WebSocket } from 'ws';
import { nanoid } from 'nanoid';
import {
  CloseCode,
  ErrorCode,
  errorInfo,
  parseClientFrameV2,
  parseClientText,
  parseHello,
  type ClientId,
  type Nickname,
  type ParseResult,
} from '@switchboard/protocol';
import type { Hub } from '../hub/hub.js';
import type { Peer, ProtocolVersion } from '../hub/peer.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { RateLimiter } from './rate-limiter.js';

export interface ConnectionLimits {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly messageRatePerSec: number;
  readonly messageBurst: number;
  readonly helloTimeoutMs: number;
}

/** After a close frame is sent, how long the peer has to answer before the socket is destroyed, in ms. */
const CLOSE_GRACE_MS = 2_000;

/**
 * One client's WebSocket on this node. It enforces the per-connection rules
 * (binary frames, heartbeat, outbound buffer budget, message rate, v2 hello; ws
 * itself enforces MAX_MESSAGE_BYTES with 1009 and UTF-8 with 1007), parses frames
 * in the connection's protocol and hands them to the hub. Each rule's outcome is a
 * close code or an error frame, and a log line with the reason.
 */
export class Connection implements Peer {
  readonly conn = nanoid(12);
  id: ClientId = '';
  nickname: Nickname = '';
  readonly log: Logger;
  /** Resolves once the socket is closed and the hub has been told. */
  readonly closed: Promise<void>;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly deadline: NodeJS.Timeout;
  private readonly rate: RateLimiter;
  private closeTimer: NodeJS.Timeout | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private isClosed = false;
  /** Frames that arrived before the hub admitted this connection, in order; undefined once admitted. */
  private pending: ParseResult[] | undefined = [];
  private admitting = false;

  constructor(
    private readonly socket: WebSocket,
    readonly protocol: ProtocolVersion,
    private readonly hub: Hub,
    private readonly limits: ConnectionLimits,
    logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.log = logger.child({ conn: this.conn });
    this.rate = new RateLimiter(limits.messageRatePerSec, limits.messageBurst);

    this.pingTimer = setInterval(() => this.ping(), limits.pingIntervalMs);
    this.deadline = setTimeout(() => this.onHeartbeatTimeout(), limits.pongTimeoutMs);

    socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    socket.on('pong', () => this.alive());
    socket.on('error', (err: Error & { code?: string }) => {
      // ws has already started closing with the matching code (1009, 1007, 1002...).
      this.log.warn({ reason: err.code ?? 'SOCKET_ERROR', err: err.message }, 'closing connection on protocol error');
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        clearInterval(this.pingTimer);
        clearTimeout(this.deadline);
        clearTimeout(this.closeTimer);
        clearTimeout(this.helloTimer);
        this.log.info({ code, reason: reason.toString() }, 'connection closed');
        this.hub.leave(this, code);
        resolve();
      });
    });

    if (protocol === 'v1') {
      this.admit();
    } else {
      this.helloTimer = setTimeout(() => {
        this.log.warn({ reason: 'HELLO_TIMEOUT', timeoutMs: limits.helloTimeoutMs }, 'closing connection: no hello');
        this.metrics.closed('hello_timeout');
        this.close(CloseCode.HELLO_EXPECTED, 'hello expected');
      }, limits.helloTimeoutMs);
    }
  }

  sendEncoded(frame: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered + frame.length > this.limits.maxBufferedBytes) {
      this.log.warn({ buffered, budget: this.limits.maxBufferedBytes }, 'slow consumer: outbound buffer over budget');
      this.metrics.closed('slow_consumer');
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer');
      return;
    }
    this.socket.send(frame, { binary: false });
  }

  /** Close with a code; the socket is destroyed if the peer does not answer in time. */
  close(code: number, reason: string): void {
    if (this.closeTimer || this.isClosed) return;
    this.socket.close(code, reason);
    this.closeTimer = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  private admit(hello?: Parameters<Hub['admit']>[1]): void {
    this.admitting = true;
    clearTimeout(this.helloTimer);
    this.hub.admit(this, hello).then(
      () => {
        const queued = this.pending ?? [];
        this.pending = undefined;
        for (const parsed of queued) this.hub.receive(this, parsed);
      },
      (err: Error) => {
        this.log.warn({ reason: 'ADMISSION_FAILED', err: err.message }, 'closing connection: cluster unavailable');
        this.close(CloseCode.TRY_AGAIN_LATER, 'cluster unavailable, try again');
      },
    );
  }

  /** Any frame or pong from the client restarts its heartbeat deadline. */
  private alive(): void {
    if (!this.isClosed) this.deadline.refresh();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.metrics.frameReceived();
    this.alive();
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (isBinary) {
      this.log.warn({ reason: 'BINARY_FRAME', bytes: data.length }, 'closing connection: binary frames are not supported');
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported');
      return;
    }
    const text = data.toString('utf8');
    if (this.protocol === 'v2' && !this.admitting) {
      const hello = parseHello(text);
      if (!hello.ok) {
        this.log.warn({ reason: 'HELLO_EXPECTED' }, 'closing connection: first frame was not hello');
        this.close(CloseCode.HELLO_EXPECTED, 'hello expected');
        return;
      }
      this.admit(hello.hello);
      return;
    }
    const parsed = this.protocol === 'v2' ? parseClientFrameV2(text) : parseClientText(text);
    if (!this.rate.take()) {
      this.log.debug({ reason: 'RATE_LIMITED' }, 'refused frame over the rate limit');
      this.hub.refuse(
        this,
        errorInfo(ErrorCode.RATE_LIMITED),
        parsed.ok ? parsed.command.ref : parsed.ref,
      );
      return;
    }
    if (this.pending) this.pending.push(parsed);
    else this.hub.receive(this, parsed);
  }

  private ping(): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
  }

  private onHeartbeatTimeout(): void {
    this.log.warn({ reason: 'HEARTBEAT_TIMEOUT', timeoutMs: this.limits.pongTimeoutMs }, 'dropping client: no pong');
    this.metrics.closed('heartbeat');
    // A peer that does not answer pings will not answer a close handshake either.
    this.socket.terminate();
  }
}

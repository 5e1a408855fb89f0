import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterSnapshot } from '@switchboard/protocol';
import { send } from '../http/send.js';
import type { ClusterView } from './cluster-view.js';

/** Most event streams open at once (each costs a snapshot a second); more get 503. */
const MAX_STREAMS = 32;
/** An event stream whose reader lets this many bytes pile up is closed. */
const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;

/**
 * The dashboard's `/events`: server-sent events, one `data:` line with the
 * ClusterView's snapshot every second, to at most MAX_STREAMS readers, each
 * dropped once MAX_STREAM_BACKLOG_BYTES pile up unread.
 */
export class SnapshotStreams {
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly view: ClusterView) {}

  /** Answer `req` with a stream that lasts until the reader goes or close() is called. */
  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      send(res, 503, 'text/plain', 'Too many dashboards open on this node');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const write = (snapshot: ClusterSnapshot) => {
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        res.destroy();
        return;
      }
      res.write(`data: ${JSON.stringify(snapshot)}\n\n`);
    };
    write(this.view.snapshot());
    const unsubscribe = this.view.subscribe(write);
    this.streams.add(res);
    req.socket.setNoDelay(true);
    res.once('close', () => {
      unsubscribe();
      this.streams.delete(res);
    });
  }

  /** End every open stream. */
  close(): void {
    for (const stream of this.streams) stream.end();
  }
}

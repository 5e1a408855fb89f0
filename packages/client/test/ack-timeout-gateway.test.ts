import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { GatewayProcess, watch, within } from '@switchboard/testkit';
import { SwitchboardClient, type ClientEvents, type ClientOptions } from '../src/index.js';

/** `ws`'s own onmessage accessor, which the lossy socket wraps. */
const ONMESSAGE = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage')!;

/** Whether a frame from the server is to be lost on its way to the client; one socket's frames at a time. */
type Loss = (frame: Record<string, unknown>) => boolean;

/**
 * A `ws` WebSocket that loses the server's frames `loss` picks (each line of a
 * batch judged alone), as a lost echo or a wedged connection would: the server
 * did its part, the client never hears of it. Only the sockets opened while
 * `state.loss` is set lose frames.
 */
function lossy() {
  const state: { loss: Loss | undefined; lost: Array<Record<string, unknown>> } = { loss: undefined, lost: [] };
  class Lossy extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      const loss = state.loss;
      if (loss === undefined) return;
      let handler: ((event: { data: unknown }) => void) | null = null;
      Object.defineProperty(this, 'onmessage', {
        get: () => handler,
        set: (h: typeof handler) => {
          handler = h;
          ONMESSAGE.set!.call(this, (event: { data: unknown }) => {
            if (typeof event.data !== 'string') return h?.(event);
            const kept = event.data.split('\n').filter((line) => {
              const frame = JSON.parse(line) as Record<string, unknown>;
              if (!loss(frame)) return true;
              state.lost.push(frame);
              return false;
            });
            if (kept.length > 0) h?.({ ...event, data: kept.join('\n') });
          });
        },
      });
    }
  }
  return Object.assign(state, { WebSocket: Lossy });
}

/** The SDK against a real gateway (in-memory bus) whose answers to it get lost on the way. */
describe('SwitchboardClient against a real gateway: lines whose acknowledgement is lost', () => {
  let node: GatewayProcess;
  const clients: SwitchboardClient[] = [];

  const client = (options: Partial<ClientOptions> = {}) => {
    const c = new SwitchboardClient({ url: node.wsUrl, WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 200 }, ...options });
    clients.push(c);
    const events = watch<ClientEvents>(c);
    return Object.assign(c, {
      next: events.next.bind(events),
      messages: events.record('message'),
      pendingEvents: events.record('pending'),
    });
  };

  before(async () => {
    node = await GatewayProcess.start({ env: { REDIS_URL: '', NODE_ID: 'ack-node' } });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node?.kill();
  });

  it('resends a line whose echo was lost on the same connection; the gateway answers with an ack, and broadcasts it once', async () => {
    const net = lossy();
    const ada = client({ WebSocket: net.WebSocket, ackTimeoutMs: 300, ackReconnectMs: 30_000 });
    const bob = client();
    await bob.connect();
    let dropped = false;
    net.loss = (f) => {
      // ada's own echo of her first line, once.
      if (dropped || f.type !== 'message' || f.ref === undefined || f.id !== ada.id) return false;
      dropped = true;
      return true;
    };
    await ada.connect();
    const ackFrames = watch<ClientEvents>(ada).record('ack');

    const heard = bob.next('message', (m) => m.message === 'only once');
    const acknowledged = await within(ada.send('only once'), 10_000, 'the acknowledgement of the line whose echo was lost');
    const broadcast = await heard;
    assert.ok(acknowledged);
    assert.equal(net.lost.length, 1, 'the echo was lost');
    assert.deepEqual([acknowledged.seq, acknowledged.epoch], [broadcast.seq, broadcast.epoch], 'the ack names the one broadcast');
    assert.deepEqual(
      ackFrames.items.map((a) => a.ref),
      [acknowledged.ref],
      'settled by the gateway’s ack of the resend',
    );
    assert.ok(ada.resends >= 1, `resent on the same connection (${ada.resends})`);
    assert.equal(ada.node, 'ack-node');

    // Everything ada sends after it reaches bob after it (one order per room): by then a duplicate would have too.
    const marker = bob.next('message', (m) => m.message === 'marker');
    await within(ada.send('marker'), 10_000, 'the marker');
    await marker;
    assert.equal(bob.messages.items.filter((m) => m.message === 'only once').length, 1, 'broadcast exactly once');
    const own = ada.pendingEvents.items.filter((p) => p.text === 'only once');
    assert.deepEqual(own[0], { ref: acknowledged.ref, kind: 'message', text: 'only once', resends: 0, overdue: false });
    assert.ok(own.length >= 2 && own.at(-1)!.resends >= 1, 'a pending event per resend');
  });

  it('reconnects when the connection answers nothing past ackReconnectMs, resumes, and gets the line acknowledged once', async () => {
    const net = lossy();
    const ada = client({ WebSocket: net.WebSocket, ackTimeoutMs: 200, ackReconnectMs: 700 });
    const bob = client();
    await bob.connect();
    let wedged = false;
    net.loss = () => wedged; // the first connection goes deaf once wedged; later ones hear everything
    await ada.connect();
    net.loss = undefined;
    const closes = watch<ClientEvents>(ada).record('close');
    const firstSession = ada.resumePoint?.session;

    wedged = true;
    const heard = bob.next('message', (m) => m.message === 'through the wedge');
    const acknowledged = await within(ada.send('through the wedge'), 10_000, 'the acknowledgement after the reconnect');
    await heard;
    assert.ok(acknowledged);
    assert.equal(closes.items[0]?.code, 4000, 'closed by the SDK, not ended: the session survives');
    assert.match(closes.items[0]?.reason ?? '', /no answer to .* within 700 ms/);
    assert.equal(ada.resumePoint?.session, firstSession, 'the same session, resumed');
    assert.ok(ada.resends >= 2, `resent before and after the reconnect (${ada.resends})`);

    const marker = bob.next('message', (m) => m.message === 'after the wedge');
    await within(ada.send('after the wedge'), 10_000, 'the line after the wedge');
    await marker;
    assert.equal(bob.messages.items.filter((m) => m.message === 'through the wedge').length, 1, 'broadcast exactly once');
  });
});

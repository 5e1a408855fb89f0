import { nanoid } from 'nanoid';
import {
  DEFAULT_NICKNAME_PREFIX,
  ErrorCode,
  connectedText,
  disconnectedText,
  encodeServerFrame,
  nickChangedText,
  parseClientText,
  welcomeText,
  type BroadcastEvent,
  type ClientId,
  type NodeId,
  type ProtocolErrorInfo,
  type ServerFrame,
} from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Identity, Peer } from './peer.js';

/**
 * The chat hub of one node: it keeps the local peers, turns what they send into
 * broadcast events on the bus, and fans every event that comes back from the bus
 * out to its local peers. It knows the Bus interface only, never Redis.
 *
 * Local delivery happens only from the bus, the sender's own echo included, so all
 * clients on all nodes see one order. Each event is encoded once per node and the
 * same bytes are handed to every peer.
 */
export class Hub {
  private readonly peers = new Map<ClientId, Peer>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly log: Logger;

  constructor(
    private readonly bus: Bus,
    private readonly nodeId: NodeId,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'hub' });
  }

  /** Start receiving events from the bus. */
  start(): void {
    this.bus.start((event) => this.deliver(event));
  }

  /** Number of local peers. */
  get size(): number {
    return this.peers.size;
  }

  /** A fresh identity: a nanoid and `AnonymousUser<N>` with N unique in the cluster. */
  async identify(): Promise<Identity> {
    const n = await this.bus.nextGuestNumber();
    return { id: nanoid(), nickname: `${DEFAULT_NICKNAME_PREFIX}${n}` };
  }

  /**
   * Admit a peer: its `welcome` first, then it receives broadcasts, then the cluster
   * hears that it connected. Synchronous up to the publish, so no broadcast can
   * reach the peer before its welcome.
   */
  join(peer: Peer): void {
    this.sendTo(peer, {
      type: 'welcome',
      id: peer.id,
      nickname: peer.nickname,
      message: welcomeText(peer.nickname),
      node: this.nodeId,
    });
    this.peers.set(peer.id, peer);
    peer.log.info({ nickname: peer.nickname, peers: this.peers.size }, 'joined');
    this.broadcast(peer, {
      type: 'notification',
      id: peer.id,
      nickname: peer.nickname,
      message: connectedText(peer.nickname),
      event: 'connected',
      time: Date.now(),
    });
  }

  /** Forget a peer and tell the cluster it disconnected. Safe to call twice. */
  leave(peer: Peer): void {
    if (!this.peers.delete(peer.id)) return;
    peer.log.info({ nickname: peer.nickname, peers: this.peers.size }, 'left');
    this.broadcast(peer, {
      type: 'notification',
      id: peer.id,
      nickname: peer.nickname,
      message: disconnectedText(peer.nickname),
      event: 'disconnected',
      time: Date.now(),
    });
  }

  /** Handle one text frame from a peer: a chat line or a command. */
  receive(peer: Peer, text: string): void {
    if (!this.peers.has(peer.id)) return;
    const parsed = parseClientText(text);
    if (!parsed.ok) {
      peer.log.info({ code: parsed.error.code }, 'refused client input');
      this.refuse(peer, parsed.error);
      return;
    }
    const command = parsed.command;
    switch (command.type) {
      case 'message':
        this.broadcast(peer, {
          type: 'message',
          id: peer.id,
          nickname: peer.nickname,
          message: command.message,
          time: Date.now(),
        });
        return;
      case 'nick': {
        const previous = peer.nickname;
        peer.nickname = command.nickname;
        peer.log.info({ previous, nickname: command.nickname }, 'nick changed');
        this.broadcast(
          peer,
          {
            type: 'nick_update',
            id: peer.id,
            nickname: command.nickname,
            message: nickChangedText(previous, command.nickname),
            previous,
            time: Date.now(),
          },
          () => {
            // The cluster never heard of the new name: keep the old one.
            if (peer.nickname === command.nickname) peer.nickname = previous;
          },
        );
        return;
      }
    }
  }

  /** Tell a peer no. Nothing is broadcast. */
  refuse(peer: Peer, error: ProtocolErrorInfo): void {
    this.sendTo(peer, { type: 'error', id: peer.id, nickname: peer.nickname, ...error });
  }

  /** Wait until every publish that was started has finished (for shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Fan one event from the bus out to every local peer: encoded once. */
  private deliver(event: BroadcastEvent): void {
    const frame = Buffer.from(encodeServerFrame(event));
    for (const peer of this.peers.values()) peer.sendEncoded(frame);
  }

  private broadcast(peer: Peer, event: BroadcastEvent, onFailure?: () => void): void {
    const publishing = this.bus.publish(event).then(
      () => undefined,
      (err: Error) => {
        peer.log.warn({ type: event.type, err: err.message }, 'event not published');
        onFailure?.();
        if (event.type !== 'notification' && this.peers.has(peer.id)) {
          this.refuse(peer, {
            code: ErrorCode.BUS_UNAVAILABLE,
            message: 'Not delivered: the chat cluster is unreachable right now. Please try again.',
          });
        }
      },
    );
    this.inFlight.add(publishing);
    void publishing.finally(() => this.inFlight.delete(publishing));
  }

  private sendTo(peer: Peer, frame: ServerFrame): void {
    peer.sendEncoded(Buffer.from(encodeServerFrame(frame)));
  }
}

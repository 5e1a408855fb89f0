import { ALREADY_SENT_TEXT, ErrorCode, errorFrame, errorInfo, type EventDraft, type Position } from '@switchboard/protocol';
import type { Bus } from '../bus/bus.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Member } from './member.js';
import { sendFrame } from './peer.js';

/** What to do once a publish is settled. */
export interface PublishHooks {
  /** The bus did not take the event (nothing was broadcast). */
  readonly onFailure?: () => void;
  /** The bus took it: a follow-up (a session update) that the member's leave must wait for. */
  readonly onSuccess?: () => Promise<void>;
}

/**
 * Publishing on behalf of members. A member's publishes (with their session
 * updates) are counted in its `inFlight`, with the commands it has under way,
 * so whatever must come after them (its leave) is written after them; what it
 * keeps per member does not grow with the member's traffic. A retried `ref`
 * that was already broadcast gets an `ack`; a publish the bus refused gets
 * `BUS_UNAVAILABLE` (with the `ref`), never silence.
 */
export class OrderedPublisher {
  /** Every publish and follow-up started on this node, until it settles (what drain() waits for). */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly bus: Bus,
    private readonly metrics: Metrics,
    /** Told where the bus placed each event it took (not a duplicate's original). */
    private readonly onPlaced: (draft: EventDraft, position: Position) => void = () => undefined,
  ) {}

  publish(member: Member, draft: EventDraft, hooks: PublishHooks = {}): void {
    const { peer } = member;
    const publishing = this.bus.publish(draft).then(
      async (result) => {
        if (!result.duplicate) {
          this.metrics.published(draft.type, (Date.now() - draft.time) / 1000);
          this.onPlaced(draft, result);
        }
        if (result.duplicate && draft.ref !== undefined) {
          sendFrame(peer, {
            type: 'ack',
            id: peer.id,
            nickname: peer.nickname,
            message: ALREADY_SENT_TEXT,
            ref: draft.ref,
            room: draft.room,
            seq: result.seq,
            epoch: result.epoch,
          });
        }
        await hooks.onSuccess?.();
      },
      (err: Error) => {
        peer.log.warn({ type: draft.type, err: err.message }, 'event not published');
        hooks.onFailure?.();
        // A refusal to a peer that is gone is pointless.
        if (draft.type !== 'notification' && member.present) {
          const refusal = errorInfo(ErrorCode.BUS_UNAVAILABLE);
          this.metrics.frameRefused(refusal.code);
          sendFrame(peer, errorFrame(peer, refusal, draft.ref));
        }
      },
    );
    const settled = publishing.catch((err: Error) => peer.log.warn({ err: err.message }, 'after-publish step failed'));
    member.inFlight.add(settled);
    this.track(settled);
  }

  /**
   * Run `work` once every publish of the member has settled, and every command it
   * sent (one queued behind a rename or a join included); tracked for drain().
   */
  afterPublishes(member: Member, work: () => Promise<void>): void {
    this.track(
      member.inFlight
        .idle()
        .then(work)
        .catch((err: Error) => member.peer.log.warn({ err: err.message }, 'session not updated on leave')),
    );
  }

  /** Wait until every publish and follow-up that was started has finished (for shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}

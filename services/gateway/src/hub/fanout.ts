import { advance, encodeServerFrame, type BroadcastEvent, type Position } from '@switchboard/protocol';
import type { Metrics } from '../metrics/metrics.js';
import type { Member } from './member.js';
import { Outgoing } from './peer.js';

/**
 * Local delivery: every event that comes back from the bus (in order, through
 * the Sequencer) goes to every local member, encoded once per node and the same
 * bytes handed to every peer. Each member gets an event at most once, by the
 * protocol's one ordering rule; a member still catching up holds live events in
 * its backlog until its welcome and replay are out.
 */
export class LocalFanout {
  constructor(
    private readonly members: () => Iterable<Member>,
    private readonly metrics: Metrics,
  ) {}

  /** Fan one event out to every local member. */
  deliver(event: BroadcastEvent): void {
    const out = new Outgoing(encodeServerFrame(event));
    this.metrics.busToSocketLatency((Date.now() - event.time) / 1000);
    for (const member of this.members()) this.forward(member, event, out);
  }

  /**
   * Start a member's stream at `start` (what its welcome said): the replay, then
   * whatever arrived live meanwhile, each at most once; live events flow from now on.
   */
  startAt(member: Member, start: Position, replay: readonly BroadcastEvent[]): void {
    member.position = start;
    const backlog = member.backlog ?? [];
    member.backlog = undefined;
    for (const event of replay) this.forward(member, event);
    for (const event of backlog) this.forward(member, event);
  }

  /** Send an event to one member unless it already has it; hold it while the member catches up. */
  private forward(member: Member, event: BroadcastEvent, out?: Outgoing): void {
    if (member.backlog) {
      member.backlog.push(event);
      return;
    }
    if (advance(member.position, event).kind === 'duplicate') return;
    member.position = { epoch: event.epoch, seq: event.seq };
    const sent = out ?? new Outgoing(encodeServerFrame(event));
    member.peer.send(sent);
    this.metrics.delivered(1, sent.payload.length);
  }
}

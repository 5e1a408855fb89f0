import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';

/** A shard to watch: its name (its master, `host:port`) and a sharded channel in a slot it owns. */
export interface ProbeTarget {
  readonly shard: string;
  readonly channel: string;
}

/** A shard the watchdog does not hear, and why. */
export interface UnheardShard {
  readonly shard: string;
  readonly why: string;
}

export interface ShardWatchdogOptions {
  /** Whose probes these are: a probe names its node, so another node's are not taken for this one's. */
  readonly nodeId: string;
  /** How often a probe is published on each shard, in ms. */
  readonly intervalMs: number;
  /** How long a probe, or a room's own line, may take to come back, in ms. */
  readonly timeoutMs: number;
  /** The shards now, each with its probe channel. */
  shards(): readonly ProbeTarget[];
  /** The shard that holds `channel` (a room's) now, if known. */
  shardOf(channel: string): string | undefined;
  /** Subscribe the node's subscriber to a probe channel (resolves once it listens). */
  subscribe(channel: string): Promise<void>;
  /** Stop listening to a probe channel no shard uses any more. */
  unsubscribe(channel: string): Promise<void>;
  /** Publish a probe on its shard. */
  publish(channel: string, payload: string): Promise<void>;
  /**
   * Make the shard deliver again: read the topology again, subscribe its rooms
   * again, or start its subscriber over (the bus chooses by `attempt`). Called
   * once the shard is found silent, then every `timeoutMs` until it is heard.
   */
  mend(shard: string, attempt: number): Promise<void>;
  /** Called whenever a shard stops being heard, or is heard again (readiness changes). */
  onChange(): void;
  /**
   * Whether the connections are up and subscribed (true by default): while not,
   * nothing is judged (the bus says why it is not ready), and what was sent
   * meanwhile is not waited for.
   */
  judging?(): boolean;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The clock, Date.now by default. */
  readonly now?: () => number;
}

interface ShardState {
  readonly channel: string;
  /** Whether the subscriber was asked to listen to the probe channel (a failed SSUBSCRIBE is asked again on the next round). */
  subscribed: boolean;
  /** When the oldest probe not yet heard back was sent. */
  waitingSince: number | undefined;
  /** Set while the shard is not heard: since when, why, mends so far and the last one's time. */
  unheard: { since: number; why: string; mends: number; lastMend: number } | undefined;
  /** Only a probe numbered from here on clears the shard (one sent after it was found silent). */
  clearFrom: number;
  /** Whether the shard was ever heard (its gauge exists from then on). */
  heard: boolean;
}

/**
 * The bus's delivery watchdog: pub/sub can stop delivering without a word (a
 * master demoted by a graceful failover drops its sharded subscriptions, a
 * connection that is open but no longer read), and nothing else would notice.
 *
 * Every `intervalMs`, the node publishes a probe on each shard, on a channel of
 * its own in a slot that shard owns, and listens for it on its subscriber; the
 * node's own published lines count too (a room whose line has not come back).
 * Whatever is not heard back within `timeoutMs` makes its shard "not heard":
 * the gauge `switchboard_shard_up{shard}` goes to 0, the counter
 * `switchboard_shard_unheard_total{shard}` counts it, one line is logged, the
 * bus says not ready (naming the shard) and the shard is mended, again every
 * `timeoutMs` until a probe sent after that is heard. Then the gauge is 1 again
 * and the bus ready (which makes every room catch up from its history).
 *
 * A slow node is not taken for a deaf one: a round that comes late (the event
 * loop was blocked, replies may be waiting unread) judges nothing.
 */
export class ShardWatchdog {
  private readonly states = new Map<string, ShardState>();
  /** Rooms' channels whose own published line is awaited: the lowest seq, and since when. */
  private readonly echoes = new Map<string, { seq: number; since: number }>();
  private readonly log: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private nonce = 0;
  private lastRound: number | undefined;

  constructor(private readonly options: ShardWatchdogOptions) {
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.round(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The subscriber connected again (it listens to nothing yet): listen to every
   * probe channel again, and judge from the next probe on (what was sent while
   * it was away never came back, and is no news: the bus said why it was not ready).
   */
  listenAgain(): void {
    for (const state of this.states.values()) {
      state.subscribed = false;
      state.waitingSince = undefined;
    }
    this.echoes.clear();
    this.lastRound = undefined;
  }

  /**
   * The lines awaited on `channels` (all when unset) will not come back live:
   * their subscriber was away (a reconnect, a new master) and their rooms catch
   * up from the history instead. They are no news.
   */
  forgetEchoes(channels?: Iterable<string>): void {
    if (channels === undefined) this.echoes.clear();
    else for (const channel of channels) this.echoes.delete(channel);
  }

  /** The shards not heard now. */
  unheard(): UnheardShard[] {
    const shards: UnheardShard[] = [];
    for (const [shard, state] of this.states) if (state.unheard) shards.push({ shard, why: state.unheard.why });
    return shards;
  }

  /** Whether `channel` is one of the node's probe channels (its messages are the watchdog's, not a room's). */
  isProbe(channel: string): boolean {
    for (const state of this.states.values()) if (state.channel === channel) return true;
    return false;
  }

  /** A message on a probe channel: this node's probe, back. */
  heard(channel: string, payload: string): void {
    const [node, number] = payload.split(' ');
    if (node !== this.options.nodeId) return;
    const nonce = Number(number);
    for (const [shard, state] of this.states) {
      if (state.channel !== channel || nonce < state.clearFrom) continue;
      state.waitingSince = undefined;
      if (!state.heard || state.unheard) this.options.metrics.shardUp(shard, true);
      state.heard = true;
      if (state.unheard) {
        this.log.info({ shard, silentMs: this.now() - state.unheard.since, mends: state.unheard.mends }, 'shard heard again');
        state.unheard = undefined;
        this.options.onChange();
      }
    }
  }

  /** The node published `seq` in the room of `channel`: it should come back within timeoutMs. */
  expect(channel: string, seq: number): void {
    if (!this.echoes.has(channel)) this.echoes.set(channel, { seq, since: this.now() });
  }

  /** An event numbered `seq` arrived on the room channel `channel`. */
  arrived(channel: string, seq: number): void {
    const waiting = this.echoes.get(channel);
    if (waiting && seq >= waiting.seq) this.echoes.delete(channel);
  }

  /** The node no longer listens to the room of `channel`. */
  forget(channel: string): void {
    this.echoes.delete(channel);
  }

  /** One round: learn the shards, probe each, judge what has not come back. Public for tests. */
  round(): void {
    const now = this.now();
    // A round much later than planned: the node was busy; what came back may still be unread.
    const late = this.lastRound !== undefined && now - this.lastRound > 2 * this.options.intervalMs;
    this.lastRound = now;
    if (this.options.judging?.() === false) {
      for (const state of this.states.values()) state.waitingSince = undefined;
      this.echoes.clear();
      return;
    }
    this.follow(this.options.shards());
    for (const [shard, state] of this.states) {
      if (!late && state.waitingSince !== undefined && now - state.waitingSince >= this.options.timeoutMs) {
        this.silent(shard, state, `its probe was not heard back within ${this.options.timeoutMs} ms`);
      }
      this.probe(state);
    }
    for (const [channel, waiting] of this.echoes) {
      if (late || now - waiting.since < this.options.timeoutMs) continue;
      this.echoes.delete(channel);
      const shard = this.options.shardOf(channel);
      const state = shard === undefined ? undefined : this.states.get(shard);
      if (shard && state)
        this.silent(
          shard,
          state,
          `the node's own line ${waiting.seq} on ${channel} was not heard back within ${this.options.timeoutMs} ms`,
        );
    }
  }

  /** Keep a state per shard there is now; forget those that are gone (their slots moved). */
  private follow(targets: readonly ProbeTarget[]): void {
    const names = new Set(targets.map((target) => target.shard));
    for (const [shard, state] of this.states) {
      if (names.has(shard)) continue;
      this.states.delete(shard);
      if (state.heard) this.options.metrics.shardGone(shard);
      if (
        ![...this.states.values()].some((other) => other.channel === state.channel) &&
        !targets.some((t) => t.channel === state.channel)
      ) {
        this.options.unsubscribe(state.channel).catch(() => undefined);
      }
      this.log.info({ shard }, 'shard gone (its slots moved)');
      if (state.unheard) this.options.onChange();
    }
    for (const { shard, channel } of targets) {
      const state = this.states.get(shard);
      if (state?.channel === channel) continue;
      // A new shard, or one whose probe slot moved: listen on its (new) channel.
      this.states.set(shard, {
        channel,
        subscribed: false,
        waitingSince: state?.waitingSince,
        unheard: state?.unheard,
        clearFrom: this.nonce + 1,
        heard: state?.heard ?? false,
      });
    }
  }

  private probe(state: ShardState): void {
    const { channel } = state;
    if (!state.subscribed) {
      // Asked once; a refusal asks again on the next round.
      state.subscribed = true;
      this.options.subscribe(channel).catch((err: Error) => {
        state.subscribed = false;
        this.log.debug({ channel, err: err.message }, 'probe channel not subscribed yet');
      });
    }
    state.waitingSince ??= this.now();
    this.options.publish(channel, `${this.options.nodeId} ${++this.nonce}`).catch(() => undefined);
  }

  /** The shard did not deliver in time: say so (once), and mend it (again every timeoutMs). */
  private silent(shard: string, state: ShardState, why: string): void {
    const now = this.now();
    if (!state.unheard) {
      state.unheard = { since: now, why, mends: 0, lastMend: -Infinity };
      this.options.metrics.shardUp(shard, false);
      this.options.metrics.shardUnheard(shard);
      this.options.onChange();
    }
    // Only a probe sent from now on says it delivers again.
    state.clearFrom = this.nonce + 1;
    state.waitingSince = now;
    const unheard = state.unheard;
    if (now - unheard.lastMend < this.options.timeoutMs) return;
    unheard.lastMend = now;
    const attempt = ++unheard.mends;
    this.log.warn(
      { shard, why, attempt, action: 'reading the topology again, subscribing its rooms again or restarting its subscriber' },
      'shard not heard',
    );
    // Its probe channel too: a subscription the server dropped is made again.
    state.subscribed = false;
    this.options.mend(shard, attempt).catch((err: Error) => this.log.warn({ shard, err: err.message }, 'shard not mended yet'));
  }
}

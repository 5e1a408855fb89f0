import { HISTORY_ON_JOIN, type Epoch, type MessageFrame, type RoomName, type Seq } from '@switchboard/protocol';
import type { KeyValueStore } from './storage.js';

/** Where a tab keeps the lines it showed (sessionStorage: per tab, gone with the tab). */
export const TRANSCRIPT_KEY = 'switchboard.lines';

/** A position in a room: where a welcome says the events start. */
export interface RoomPosition {
  readonly room?: RoomName;
  readonly epoch?: Epoch;
  readonly seq?: Seq;
}

/** A chat line as kept: a `message` frame without its ref or history mark. */
type KeptLine = Pick<MessageFrame, 'type' | 'room' | 'epoch' | 'seq' | 'id' | 'nickname' | 'message' | 'time'>;

/**
 * The chat lines the page showed in its room, the last HISTORY_ON_JOIN of them,
 * kept in the tab's sessionStorage. A reload that resumes the session gets only
 * the events it missed from the server, not the room's recent lines: the lines
 * kept here are shown again instead, as the "earlier" lines a fresh join gets.
 *
 * It also keeps each line to once: a line of this room, epoch and seq that the
 * page already shows is not shown again (a failed resume on a live connection
 * sends the room's recent lines, most of them on screen already).
 */
export class Transcript {
  private room: RoomName | undefined;
  private lines: KeptLine[] = [];
  /** `epoch/seq` of each line in `lines`. */
  private readonly shown = new Set<string>();
  /** Whether `lines` changed since the last save. */
  private dirty = false;

  constructor(
    private readonly store: KeyValueStore | undefined,
    private readonly max = HISTORY_ON_JOIN,
  ) {}

  /**
   * A reload resumed the session at `welcome`: the lines the tab kept of that
   * room and epoch, up to the welcome's position (those after it are replayed),
   * oldest first, marked as history. Nothing when the tab kept another room's.
   */
  resume(welcome: RoomPosition): Array<MessageFrame & { readonly history: true }> {
    const kept = this.read();
    this.enter(welcome.room);
    if (kept === undefined || kept.room !== welcome.room || welcome.epoch === undefined || welcome.seq === undefined) return [];
    const { epoch, seq } = welcome;
    for (const line of kept.lines) if (line.epoch === epoch && line.seq <= seq) this.keep(line);
    return this.lines.map((line) => ({ ...line, history: true as const }));
  }

  /** The page is in `room` now (a welcome, a joined): a room it was not keeping starts empty. */
  enter(room: RoomName | undefined): void {
    if (room === this.room) return;
    this.room = room;
    this.lines = [];
    this.shown.clear();
    this.dirty = true;
  }

  /** A chat line of the room arrived: false when the page shows it already; else it is kept (the last `max`). */
  add(frame: MessageFrame): boolean {
    if (frame.room !== this.room) return true; // not the room kept (the SDK passes on only the current room's)
    if (this.shown.has(keyOf(frame))) return false;
    const { type, room, epoch, seq, id, nickname, message, time } = frame;
    this.keep({ type, room, epoch, seq, id, nickname, message, time });
    return true;
  }

  /** Write what is kept to the store, if it changed; a store that is full or off keeps nothing (a reload then shows no earlier lines). */
  save(): void {
    if (this.store === undefined || !this.dirty) return;
    this.dirty = false;
    try {
      this.store.setItem(TRANSCRIPT_KEY, JSON.stringify({ room: this.room, lines: this.lines }));
    } catch {
      this.forget();
    }
  }

  /** Keep nothing more in the store (the tab starts a new session). */
  forget(): void {
    try {
      this.store?.removeItem(TRANSCRIPT_KEY);
    } catch {
      // Storage is off: nothing was kept.
    }
  }

  private keep(line: KeptLine): void {
    this.dirty = true;
    this.lines.push(line);
    this.shown.add(keyOf(line));
    while (this.lines.length > this.max) this.shown.delete(keyOf(this.lines.shift()!));
  }

  /** What the store holds, if it is readable: lines of the shape kept, the others dropped. */
  private read(): { room: RoomName; lines: KeptLine[] } | undefined {
    try {
      const value = JSON.parse(this.store?.getItem(TRANSCRIPT_KEY) ?? 'null') as { room?: unknown; lines?: unknown } | null;
      if (value === null || typeof value.room !== 'string' || !Array.isArray(value.lines)) return undefined;
      return { room: value.room, lines: (value.lines as unknown[]).filter(isKeptLine).slice(-this.max) };
    } catch {
      return undefined;
    }
  }
}

function keyOf(line: Pick<KeptLine, 'epoch' | 'seq'>): string {
  return `${line.epoch}/${line.seq}`;
}

function isKeptLine(value: unknown): value is KeptLine {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return (
    line.type === 'message' &&
    typeof line.room === 'string' &&
    typeof line.epoch === 'string' &&
    Number.isSafeInteger(line.seq) &&
    typeof line.id === 'string' &&
    typeof line.nickname === 'string' &&
    typeof line.message === 'string' &&
    typeof line.time === 'number'
  );
}

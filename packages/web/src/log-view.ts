import type { ClientId, RoomName, ServerFrame } from '@switchboard/protocol';

/** What an entry in the message list is, and so how it looks. */
export type EntryKind = 'message' | 'notice' | 'nick' | 'error' | 'system';

export interface Entry {
  readonly kind: EntryKind;
  readonly text: string;
  /** ms since the epoch; now when the frame has no time. */
  readonly time: number;
  /** The speaker, for chat lines. */
  readonly nickname?: string;
  readonly senderId?: ClientId;
  /** connected, disconnected, joined, left, summary, for notices; joined for the page's own move to a room. */
  readonly event?: string;
  /** A recent line of the room from before the page came (`history: true`): shown apart, as earlier. */
  readonly history?: boolean;
  /** The room the entry belongs to, when it has one. */
  readonly room?: RoomName;
}

/** Consecutive lines from one sender within this long share one heading. */
const GROUP_WINDOW_MS = 2 * 60_000;
/** How close to the bottom, in px, still counts as "reading the latest". */
const STICK_TO_BOTTOM_PX = 48;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** The entry a frame shows as, or undefined for frames that are not shown. */
export function entryOf(frame: ServerFrame): Entry | undefined {
  switch (frame.type) {
    case 'message':
      return {
        kind: 'message',
        text: frame.message,
        time: frame.time,
        nickname: frame.nickname,
        senderId: frame.id,
        room: frame.room,
        ...(frame.history === true && { history: true }),
      };
    case 'notification':
      return { kind: 'notice', text: frame.message, time: frame.time, event: frame.event };
    case 'joined':
      return { kind: 'system', text: frame.message, time: Date.now(), event: 'joined', room: frame.room };
    case 'nick_update':
      return { kind: 'nick', text: frame.message, time: frame.time };
    case 'welcome':
      return { kind: 'system', text: frame.message, time: Date.now() };
    case 'error':
      return { kind: 'error', text: frame.message, time: Date.now() };
    default:
      return undefined;
  }
}

/**
 * The message list. Every piece of user text goes in with textContent: never
 * parsed as HTML, whatever it contains. A run of history lines (a room's recent
 * lines, from before the page came) is set apart: a divider "Earlier in #room"
 * before it, the lines muted, and a divider "Now" before the first live entry after it.
 */
export class LogView {
  private last: { senderId?: ClientId; time: number; kind: EntryKind; history: boolean } | undefined;
  /** Whether the latest entry was a history line: the next live one gets the "Now" divider. */
  private inHistory = false;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly ownId: () => ClientId | undefined,
  ) {}

  /**
   * Show an entry at the end of the list. `prepare` sees its item before it is in the
   * list (a line of this page's own is marked there as pending: own-lines.ts).
   */
  add(entry: Entry, prepare?: (item: HTMLLIElement) => void): void {
    const stick = this.atBottom();
    const history = entry.history === true;
    if (history !== this.inHistory) {
      this.divider(history ? `Earlier${entry.room === undefined ? '' : ` in #${entry.room}`}` : 'Now', history ? 'earlier' : 'now');
      this.inHistory = history;
    }
    const item = document.createElement('li');
    item.className = `entry entry--${entry.kind}`;
    item.dataset.kind = entry.kind;
    if (entry.event) item.dataset.event = entry.event;
    if (entry.room !== undefined) item.dataset.room = entry.room;
    if (history) {
      item.classList.add('entry--history');
      item.dataset.history = 'true';
    }

    const continues =
      entry.kind === 'message' &&
      this.last?.kind === 'message' &&
      this.last.history === history &&
      this.last.senderId === entry.senderId &&
      entry.time - this.last.time < GROUP_WINDOW_MS;
    if (continues) item.classList.add('entry--cont');
    if (entry.senderId !== undefined && entry.senderId === this.ownId()) item.classList.add('entry--own');

    item.append(timeElement(entry.time));
    if (entry.kind === 'message') {
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = entry.nickname ?? '';
      who.style.setProperty('--hue', String(hueOf(entry.senderId ?? entry.nickname ?? '')));
      item.append(who);
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = entry.text;
    item.append(text);

    prepare?.(item);
    this.list.append(item);
    this.last = { senderId: entry.senderId, time: entry.time, kind: entry.kind, history };
    if (stick) item.scrollIntoView({ block: 'end' });
  }

  /**
   * A divider in the list: `earlier` before history lines, `now` before the live ones after them. An item of
   * the list like the others, read out by its words (a list holds only list items: no `role="separator"`).
   */
  private divider(text: string, which: 'earlier' | 'now'): void {
    const item = document.createElement('li');
    item.className = `divider divider--${which}`;
    item.dataset.divider = which;
    const label = document.createElement('span');
    label.textContent = text;
    item.append(label);
    this.list.append(item);
    this.last = undefined;
  }

  private atBottom(): boolean {
    const scroller = this.list.parentElement ?? this.list;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICK_TO_BOTTOM_PX;
  }
}

function timeElement(time: number): HTMLTimeElement {
  const date = new Date(time);
  const el = document.createElement('time');
  el.dateTime = date.toISOString();
  el.title = fullFormat.format(date);
  el.textContent = timeFormat.format(date);
  return el;
}

/** A stable colour per sender, so a person can follow a speaker at a glance. */
function hueOf(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i += 1) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash % 360;
}

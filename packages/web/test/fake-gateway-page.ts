import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import type { ClientLimits, MemberInfo } from '@switchboard/protocol';
import { BUILT_PAGE_URL } from '@switchboard/web';
import { launchChromium, recordProblems } from './page-steps.js';

export { launchChromium };

/** The built page (npm run build): index.html, app.js, style.css, favicon.svg. */
const PUBLIC = fileURLToPath(BUILT_PAGE_URL);
const ORIGIN = 'http://page.test';
export const WAIT_MS = 10_000;
/** 12:03:04 UTC on 1 January 2026; the pages run in UTC. */
export const NOON = Date.UTC(2026, 0, 1, 12, 3, 4);

/**
 * Installed in the page before its own script: a WebSocket that goes nowhere,
 * and `__server`, a v2 gateway the test drives with page.evaluate. It opens every
 * socket with `switchboard.v2` and broadcasts each line or rename the page sends
 * back to it, with its ref, as a gateway does.
 *
 * With rooms (a welcome given a room) it also answers join, who and rooms as a
 * gateway with rooms does: each room its own sequence (lobby: epoch `e`, from
 * seq 10; others: epoch `e-NAME`, from seq 100), the page's own id in the members
 * of its room, and the room's recent lines (`history: true`) after the welcome
 * or joined. Without, it is a gateway older than rooms (no `room` anywhere).
 *
 * `hold()` makes it take the page's lines and answer nothing to them (as a
 * gateway whose bus has gone deaf) until `release()`.
 */
const FAKE_GATEWAY = `(() => {
  let socket;
  let refusal;
  let holding = false;
  let sockets = 0;
  let room;
  const me = { id: 'id-me', nickname: 'me' };
  const rooms = new Map([['lobby', { epoch: 'e', seq: 10, members: [], history: [] }]]);
  const roomOf = (name) => {
    if (!rooms.has(name)) rooms.set(name, { epoch: 'e-' + name, seq: 100, members: [], history: [] });
    return rooms.get(name);
  };
  const here = () => roomOf(room ?? 'lobby');
  const inRoom = () => (room === undefined ? {} : { room });
  const move = (to) => {
    if (room !== undefined) here().members = here().members.filter((m) => m.id !== me.id);
    room = to;
    here().members.push({ ...me });
  };
  const recent = () => here().history.map((line, i, all) => ({ ...line, ...inRoom(), epoch: here().epoch, seq: here().seq - all.length + 1 + i, history: true }));
  class FakeWebSocket {
    constructor(url, protocols) {
      Object.assign(this, { url, protocols, readyState: 0, protocol: '', sent: [], onopen: null, onmessage: null, onclose: null, onerror: null });
      socket = this;
      sockets += 1;
      setTimeout(() => { this.readyState = 1; this.protocol = 'switchboard.v2'; this.onopen?.({}); });
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('not open');
      this.sent.push(data);
      const f = JSON.parse(data);
      if (f.type !== 'hello' && refusal) {
        server.answer({ type: 'error', ...me, ...refusal, ref: f.ref });
        refusal = undefined;
        return;
      }
      if (f.type === 'message' && holding) return;
      const event = () => ({ ...me, ref: f.ref, time: ${NOON}, ...inRoom(), seq: ++here().seq, epoch: here().epoch });
      if (f.type === 'message') server.answer({ type: 'message', ...event(), message: f.message });
      if (f.type === 'nick') {
        server.answer({ type: 'nick_update', ...event(), nickname: f.nickname, previous: me.nickname, message: 'Client ' + me.nickname + ' changed to ' + f.nickname });
        me.nickname = f.nickname;
        for (const r of rooms.values()) for (const m of r.members) if (m.id === me.id) m.nickname = f.nickname;
      }
      if (f.type === 'join') {
        move(f.room);
        server.answer({ type: 'joined', ...me, message: 'You are in #' + f.room + '.', room: f.room, epoch: here().epoch, seq: here().seq, ref: f.ref });
        for (const line of recent()) server.answer(line);
      }
      if (f.type === 'who') {
        const members = here().members;
        const text = members.length + ' in #' + room + ': ' + members.map((m) => m.nickname).join(', ');
        server.answer({ type: 'members', ...me, message: text, room, members, count: members.length, ref: f.ref });
      }
      if (f.type === 'rooms') {
        const list = [...rooms].filter(([, r]) => r.members.length > 0).map(([name, r]) => ({ room: name, count: r.members.length }));
        const text = 'Rooms: ' + list.map((r) => '#' + r.room + ' (' + r.count + ')').join(', ');
        server.answer({ type: 'rooms', ...me, message: text, rooms: list, ref: f.ref });
      }
    }
    close(code, reason) {
      this.readyState = 3;
      setTimeout(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? '' }));
    }
  }
  const server = {
    welcome: (limits, inRoomNamed, resumed = false) => {
      if (inRoomNamed !== undefined) move(inRoomNamed);
      server.frame({ type: 'welcome', ...me, message: 'Welcome, me! Type /nick NAME to change your name.', node: 'gw-fake', session: 's', epoch: here().epoch, seq: here().seq, resumed, ...inRoom(), ...(limits ? { limits } : {}) });
      for (const line of recent()) server.frame(line);
    },
    frame: (frame) => socket.onmessage?.({ data: JSON.stringify(frame) }),
    /** What the gateway answers comes later, over the network, never inside the page's send(). */
    answer: (frame) => setTimeout(() => server.frame(frame)),
    /** A broadcast in \`frame.room\` (or the one room), with that room's next seq. */
    broadcast: (frame) => {
      const r = roomOf(frame.room ?? 'lobby');
      server.frame({ id: 'id-bob', nickname: 'bob', time: ${NOON}, epoch: r.epoch, seq: ++r.seq, ...frame });
    },
    nextSeq: (name) => ++roomOf(name ?? 'lobby').seq,
    people: (name, members) => { roomOf(name).members = members; },
    history: (name, lines) => { roomOf(name).history = lines; },
    sent: () => socket.sent.slice(1),
    ready: () => socket?.readyState === 1,
    refuseNext: (code, message) => { refusal = { code, message }; },
    hold: () => { holding = true; },
    release: () => { holding = false; },
    sockets: () => sockets,
  };
  window.WebSocket = FakeWebSocket;
  window.__server = server;
})();`;

/** What FAKE_GATEWAY puts on the page, as the test sees it. */
export interface FakeServer {
  /**
   * The welcome (limits: none for a gateway that announces none; room: none for a gateway without rooms;
   * resumed: the session of the page's hello went on), then the room's history.
   */
  welcome(limits?: ClientLimits, room?: string, resumed?: boolean): void;
  frame(frame: Record<string, unknown>): void;
  /** A broadcast from someone else (bob unless told), in `frame.room`, with that room's next seq. */
  broadcast(frame: Record<string, unknown>): void;
  /** Take the next seq of a room (lobby unless told), as an event the page never gets would. */
  nextSeq(room?: string): number;
  /** Who is in a room (the page's own id is added when it joins). */
  people(room: string, members: MemberInfo[]): void;
  /** The recent lines of a room, oldest first, sent after a welcome or joined there (seq and epoch are filled in). */
  history(room: string, lines: Array<Record<string, unknown>>): void;
  sent(): string[];
  ready(): boolean;
  /** Answer the next frame the page sends with this error, carrying its ref. */
  refuseNext(code: string, message: string): void;
  /** Take the page's chat lines and answer nothing to them, until release(). */
  hold(): void;
  release(): void;
  /** How many sockets the page has opened. */
  sockets(): number;
}

type Call = { [K in keyof FakeServer]: [K, Parameters<FakeServer[K]>] }[keyof FakeServer];

/** Call a method of the page's fake gateway. */
export function server<C extends Call>(page: Page, ...[method, args]: C): Promise<unknown> {
  return page.evaluate(
    ([m, a]) => {
      const fake = (globalThis as unknown as { __server: Record<string, (...rest: unknown[]) => unknown> }).__server;
      return fake[m]!(...a);
    },
    [method, args] as [string, unknown[]],
  );
}

/** The frames the page sent after its hello, parsed. */
export async function sentFrames(page: Page): Promise<Array<Record<string, unknown>>> {
  return ((await server(page, 'sent', [])) as string[]).map((text) => JSON.parse(text) as Record<string, unknown>);
}

export interface OpenOptions {
  /** Welcomed with these limits (none: a gateway that announces none). */
  readonly limits?: ClientLimits;
  /** Welcomed in this room (none: a gateway without rooms). */
  readonly room?: string;
  /** Before the welcome: set up the fake gateway (people, history). */
  readonly before?: (page: Page) => Promise<void>;
  readonly context?: BrowserContextOptions;
  /** Install Playwright's fake clock (page.clock) before the page loads, so a test can move the page's time on. */
  readonly clock?: boolean;
}

/**
 * The built page, served from disk, on a fake gateway, open and welcomed; every
 * script error and console error goes into `problems`.
 */
export async function openPage(browser: Browser, problems: string[], options: OpenOptions = {}): Promise<Page> {
  const context = await browser.newContext({ timezoneId: 'UTC', locale: 'en-GB', ...options.context });
  await context.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = path === '/' ? 'index.html' : path.slice(1);
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
    return route.fulfill({ path: join(PUBLIC, file), contentType: types[extname(file)] ?? 'application/octet-stream' });
  });
  await context.addInitScript(FAKE_GATEWAY);
  if (options.clock === true) await context.clock.install();
  const page = await context.newPage();
  recordProblems(page, problems);
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => (globalThis as unknown as { __server: FakeServer }).__server.ready(), undefined, { timeout: WAIT_MS });
  await options.before?.(page);
  await server(page, 'welcome', options.room !== undefined ? [options.limits, options.room] : options.limits ? [options.limits] : []);
  await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS });
  return page;
}

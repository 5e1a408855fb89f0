/**
 * The chat page: wires the DOM in index.html to a SwitchboardClient. The page
 * connects to the gateway that served it, on `/ws`, with protocol v2: a reload
 * or a network blip resumes the session (same name, room, the missed lines, no
 * connect/disconnect notices), from the resume point kept in sessionStorage;
 * after a reload the lines shown before it come back from there too, as
 * "earlier" lines (transcript.ts). Beside the messages: who is in the room
 * (live) and the rooms there are.
 */
import { ClientError, SwitchboardClient, type Answer, type ResumePoint, type StateChange } from '@switchboard/client';
import { CloseCode, ErrorCode, parseClientText, parseRoomName, type WelcomeFrame } from '@switchboard/protocol';
import { LogView, entryOf } from './log-view.js';
import { MemberList } from './members.js';
import { OwnLines } from './own-lines.js';
import { OwnName } from './own-name.js';
import { ROOMS_REFRESH_EVERY_MS, ROOMS_REFRESH_MIN_MS, RoomCounts } from './room-counts.js';
import { SidePanel } from './side-panel.js';
import { browserStorage, tabStorage } from './storage.js';
import { NO_TOKEN_REASON, renewalText, signInText, tokenFetcher, tokenUrlOf } from './sign-in.js';
import { Throttle } from './throttle.js';
import { Transcript } from './transcript.js';

/** Per tab: two tabs are two sessions. */
const SESSION_KEY = 'switchboard.session';
/** Show the byte counter once a line takes this share of the limit. */
const COUNTER_FROM_SHARE = 0.8;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html lacks #${id}`);
  return el as T;
};

const statusBox = $<HTMLElement>('status');
const statusText = $<HTMLElement>('status-text');
const retryButton = $<HTMLButtonElement>('retry');
const nickForm = $<HTMLFormElement>('nick-form');
const nickInput = $<HTMLInputElement>('nick');
const compose = $<HTMLFormElement>('compose');
const textInput = $<HTMLInputElement>('text');
const counter = $<HTMLElement>('counter');
const hint = $<HTMLElement>('hint');
const roomName = $<HTMLElement>('room-name');
const roomForm = $<HTMLFormElement>('room-form');
const roomInput = $<HTMLInputElement>('room');
const side = $<HTMLElement>('side');
const peopleToggle = $<HTMLButtonElement>('people-toggle');

/** PAGE_TOKEN_URL, when the gateway requires tokens: the page gets one there before each connection and before it expires. */
const tokenUrl = tokenUrlOf(document);
const getToken = tokenUrl === undefined ? undefined : tokenFetcher(tokenUrl);
/** The last attempt had no token to connect with: the person must sign in (shown until a connection opens). */
let signInRequired = false;
/** What the status line says meanwhile: "Sign-in required", and why when the token endpoint failed otherwise. */
let signInStatus = signInText('');
const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
const ownName = new OwnName({ tab: tabStorage(), browser: browserStorage() }, (name) => {
  try {
    void client.setNick(name).catch(() => undefined); // a refusal is the 'rejected' event's
  } catch {
    // Closed meanwhile: nothing to ask.
  }
});
const client = newClient();
const log = new LogView($<HTMLOListElement>('log'), () => client.id);
const transcript = new Transcript(tabStorage());
/** The lines sent from this page: shown at once, marked pending until acknowledged. */
const ownLines = new OwnLines();
const members = new MemberList();
const panel = new SidePanel(
  { peopleTitle: $<HTMLElement>('people-title'), members: $<HTMLUListElement>('members'), rooms: $<HTMLUListElement>('rooms') },
  () => client.id,
  (room) => joinRoom(room),
);
const roomCounts = new RoomCounts();
/** The rooms asked again by the page itself (someone came from or went to another room; now and then): bounded. */
const roomsRefresh = new Throttle(ROOMS_REFRESH_MIN_MS, () => askRooms());
/** One question of each kind in flight at a time; another asked meanwhile is asked once it is answered. */
const asking = { who: false, whoAgain: false, rooms: false };

let lastSent = '';
let unread = 0;
const baseTitle = document.title;
/** Until the first welcome: a resumed one is a reload's, which shows the lines the tab kept. */
let firstWelcome = true;
/** A save of the session and transcript is due once the frames being read are done. */
let saveDue = false;

showLimits();

client.on('state', showState);
client.on('frame', (frame) => {
  saveSoon();
  if (frame.type === 'welcome') welcomed(frame);
  if (frame.type === 'joined') transcript.enter(frame.room);
  // Each line once: one shown already (kept from before a reload, or on screen) is not shown again.
  if (frame.type === 'message' && !transcript.add(frame)) return;
  // The echo of a line this page shows already (since it was sent): acknowledged, not shown twice.
  if (frame.type === 'message' && frame.ref !== undefined && frame.id === client.id && ownLines.shows(frame.ref)) {
    ownLines.acknowledged(frame.ref);
    return;
  }
  // A resumed session goes on where it was: no second welcome line. A refusal
  // with a ref is the SDK's to retry or to report as 'rejected'.
  const shown = !(frame.type === 'welcome' && frame.resumed) && !(frame.type === 'error' && frame.ref !== undefined);
  const entry = shown ? entryOf(frame) : undefined;
  if (entry) log.add(entry);
  if (frame.type === 'message' && frame.history !== true && document.hidden) {
    unread += 1;
    showTitle();
  }
});
client.on('welcome', () => {
  showNickname();
  showLimits();
  enteredRoom();
});
// A move to another room: its people, and the rooms' counts, afresh.
client.on('joined', () => enteredRoom());
client.on('members', (frame) => {
  if (members.answer(frame)) showPeople();
});
client.on('rooms', (frame) => {
  roomCounts.answer(frame);
  showRooms();
});
client.on('notification', (frame) => {
  presence(members.change(frame));
  if (frame.event === 'disconnected') ownName.released(frame.nickname);
  // Someone came from, or went to, another room: its count changed too.
  if (frame.room === client.room && (frame.event === 'joined' || frame.event === 'left' || frame.event === 'summary'))
    roomsRefresh.request();
});
client.on('close', ({ code, reason }) => {
  signInRequired = NO_TOKEN_REASON.test(reason);
  if (signInRequired) signInStatus = signInText(reason);
  // Another tab or window (a duplicated tab copies this one's session) resumed
  // this session: it is theirs now. This tab becomes a new person, not a rival
  // that takes the session back.
  if (code === CloseCode.SESSION_RESUMED_ELSEWHERE) startAfresh();
});
// A token not renewed on the open connection: said, not silent (the SDK asks again in 5 s).
client.on('tokenError', (err) => say(renewalText(err)));
client.on('resumeFailed', () => missedNotice());
client.on('gap', () => missedNotice());
// A line is shown as soon as it is sent, pending until the gateway acknowledges it; the SDK tells each resend,
// and when it has waited past its reconnect bound (overdue): "not sent yet, retrying".
client.on('pending', ({ ref, kind, text, resends, overdue }) => {
  if (kind !== 'message') return;
  if (!ownLines.shows(ref)) {
    const { id, nickname, room } = client;
    log.add({ kind: 'message', text, time: Date.now(), nickname, senderId: id, room }, (item) => ownLines.sent(ref, item));
  }
  ownLines.update(ref, resends, overdue);
});
// Acknowledged by an `ack` alone (its echo lost, or of a room left since) as well as by its echo.
client.on('acked', ({ ref }) => ownLines.acknowledged(ref));
client.on('rejected', ({ ref, kind, text, error }) => {
  if (kind === 'message') ownLines.failed(ref);
  if (error.code === 'CLOSED') return;
  if (kind === 'nick' && nameRefused(text, error.code)) return;
  log.add({ kind: 'error', text: error.message, time: Date.now() });
  say(error.message);
  if (error.code === ErrorCode.NICK_TAKEN) invalid(nickInput, true);
  if (kind === 'join') invalid(roomInput, true);
});
client.on('nick_update', (frame) => {
  presence(members.change(frame));
  if (frame.id !== client.id) {
    ownName.released(frame.previous);
    return;
  }
  invalid(nickInput, false);
  showNickname();
  ownName.confirmed(frame.nickname);
});
client.on('error', (frame) => frame.ref === undefined && say(frame.message));

compose.addEventListener('submit', (event) => {
  event.preventDefault();
  const line = textInput.value;
  if (line.trim() === '') return;
  const typed = parseClientText(line);
  if (typed.ok && typed.command.type === 'nick') ownName.choose(typed.command.nickname);
  if (act(() => showAnswer(client.submit(line)))) {
    lastSent = line;
    textInput.value = '';
    updateCounter();
  }
});

nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nickInput.value.trim();
  ownName.choose(name);
  if (act(() => client.setNick(name))) textInput.focus();
});
nickInput.addEventListener('input', () => invalid(nickInput, false));

roomForm.addEventListener('submit', (event) => {
  event.preventDefault();
  joinRoom(roomInput.value);
});
roomInput.addEventListener('input', () => invalid(roomInput, false));
$<HTMLButtonElement>('rooms-refresh').addEventListener('click', () => askRooms());

peopleToggle.addEventListener('click', () => showSide(side.dataset.open !== 'true'));

textInput.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowUp' && textInput.value === '' && lastSent !== '') {
    event.preventDefault();
    textInput.value = lastSent;
    updateCounter();
  } else if (event.key === 'Escape') {
    textInput.value = '';
    updateCounter();
  }
});
textInput.addEventListener('input', updateCounter);

retryButton.addEventListener('click', () => {
  if (client.state === 'closed') location.reload();
  else client.reconnectNow();
});
window.addEventListener('online', () => client.reconnectNow());

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  client.reconnectNow(); // a phone waking up should not wait out a long backoff
  unread = 0;
  showTitle();
  roomsRefresh.request();
});
// Moves between rooms the page is not in make no notice here: the rooms are asked again now and then.
setInterval(() => document.hidden || roomsRefresh.request(), ROOMS_REFRESH_EVERY_MS);

void client.connect().catch(() => undefined); // failures show as state changes

/** Run an SDK call; show its refusal to the person instead of throwing. */
function act(call: () => unknown): boolean {
  try {
    call();
    say('');
    return true;
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    say(err.code === 'NOT_OPEN' ? 'Not connected right now: your text is kept, try again in a moment.' : err.message);
    return false;
  }
}

/** Join a room typed or picked; a name the server would refuse is said at once, and kept to be corrected. */
function joinRoom(room: string): void {
  const parsed = parseRoomName(room);
  if (parsed.ok && parsed.room === client.room) {
    roomInput.value = '';
    showSide(false);
    return;
  }
  if (act(() => client.join(room))) {
    roomInput.value = '';
    invalid(roomInput, false);
    showSide(false);
    textInput.focus();
  } else {
    invalid(roomInput, true);
  }
}

/** `/who`, `/rooms` and `/help` typed in the message box: their answers go in the list, as a line. */
function showAnswer(answer: Promise<Answer>): void {
  void answer.then(
    (frame) => {
      if (frame !== undefined && 'type' in frame && (frame.type === 'members' || frame.type === 'rooms' || frame.type === 'help')) {
        log.add({ kind: 'system', event: frame.type, text: frame.message, time: Date.now() });
      }
    },
    () => undefined, // a refusal is the 'rejected' event's
  );
}

/**
 * A welcome: the room's lines are kept from now on. The first one of a reload
 * that resumed the session is followed only by what was missed: the lines the
 * tab showed before come back from its transcript, as a fresh join's recent
 * lines would, under the same "Earlier" divider.
 */
function welcomed(frame: WelcomeFrame): void {
  const reload = firstWelcome && frame.resumed === true;
  firstWelcome = false;
  if (!reload) {
    transcript.enter(frame.room);
    return;
  }
  for (const line of transcript.resume(frame)) {
    const entry = entryOf(line);
    if (entry) log.add(entry);
  }
}

/** After a welcome or a joined: the room's name, its people asked for, and the rooms. */
function enteredRoom(): void {
  const room = client.room;
  if (room === undefined) return;
  roomName.textContent = `#${room}`;
  showTitle();
  members.enter(room);
  showPeople();
  askMembers();
  askRooms();
}

/** A notice or rename changed the people of the room, or says to ask for them again (a summary). */
function presence(result: ReturnType<MemberList['change']>): void {
  if (result !== 'unchanged') showPeople();
  if (result === 'ask') askMembers();
}

/** Who is in the room: one question at a time, another once it is answered when asked for meanwhile. */
function askMembers(): void {
  if (asking.who) {
    asking.whoAgain = true;
    return;
  }
  asking.who = true;
  members.asking();
  ask(
    () => client.who(),
    () => members.abandoned(),
    () => {
      asking.who = false;
      if (asking.whoAgain) {
        asking.whoAgain = false;
        askMembers();
      }
    },
  );
}

/** The people of the room, and its count in the rooms list, which is theirs. */
function showPeople(): void {
  panel.showMembers(members);
  showRooms();
}

function showRooms(): void {
  const counted = members.answered && members.room === client.room;
  panel.showRooms(roomCounts.list(client.room, counted ? members.count : undefined), client.room);
}

function askRooms(): void {
  roomsRefresh.ran();
  if (asking.rooms) return;
  asking.rooms = true;
  ask(
    () => client.rooms(),
    () => undefined,
    () => {
      asking.rooms = false;
    },
  );
}

/** Ask the server (the answer is handled by its event); `failed` when it will not be answered, `settled` either way. */
function ask(question: () => Promise<unknown>, failed: () => void, settled: () => void): void {
  let answer: Promise<unknown>;
  try {
    answer = question();
  } catch {
    failed();
    settled();
    return;
  }
  void answer.catch(failed).finally(settled);
}

/** Open or close the side panel (a phone shows it over the messages); opened, its rooms are asked for afresh. */
function showSide(open: boolean): void {
  side.dataset.open = String(open);
  peopleToggle.setAttribute('aria-expanded', String(open));
  if (open) askRooms();
}

/**
 * Mark a field as refused (a taken nickname, a room that cannot be joined: the
 * hint and the message list say why), or as fine again. Focus stays where the
 * person is: a refusal can come long after they moved on.
 */
function invalid(input: HTMLInputElement, refused: boolean): void {
  if (refused) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** The tab's title: the room, and how many lines came while it was hidden. */
function showTitle(): void {
  const room = client.room === undefined ? '' : `#${client.room} · `;
  document.title = `${unread > 0 ? `(${unread}) ` : ''}${room}${baseTitle}`;
}

function say(text: string): void {
  hint.textContent = text;
}

function showState(change: StateChange): void {
  if (change.state === 'open') signInRequired = false;
  statusBox.dataset.state = change.state;
  if (signInRequired && change.state !== 'closed') {
    statusBox.dataset.state = 'signin';
    statusText.textContent = signInStatus;
    retryButton.hidden = false;
    retryButton.textContent = 'Retry now';
    return;
  }
  retryButton.hidden = change.state !== 'closed' && change.state !== 'reconnecting';
  retryButton.textContent = change.state === 'closed' ? 'Reconnect' : 'Retry now';
  switch (change.state) {
    case 'idle':
    case 'connecting':
      statusText.textContent = 'Connecting…';
      break;
    case 'open':
      statusText.textContent = `Connected · ${client.node ?? ''}`;
      break;
    case 'reconnecting':
      statusText.textContent = `Reconnecting${change.attempt && change.attempt > 1 ? ` (try ${change.attempt})` : ''}…`;
      break;
    case 'closed':
      statusText.textContent = 'Disconnected';
      break;
  }
}

function showNickname(): void {
  if (document.activeElement !== nickInput) nickInput.value = client.nickname ?? '';
}

/** The limits of the gateway this page is connected to, from its welcome (the protocol's defaults before one). */
function showLimits(): void {
  nickInput.maxLength = client.limits.maxNicknameLength;
  updateCounter();
}

/** Bytes of the line as it would be sent (the SDK's measure), against the gateway's limit. */
function updateCounter(): void {
  const limit = client.limits.maxMessageBytes;
  const bytes = client.frameBytes(textInput.value);
  counter.hidden = textInput.value === '' || bytes < limit * COUNTER_FROM_SHARE;
  counter.textContent = `${bytes}/${limit}`;
  counter.classList.toggle('over', bytes > limit);
}

/** Forget this tab's session and start a new one (a reload: the page starts as new). */
function startAfresh(): void {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // Storage may be off: nothing was kept to forget.
  }
  transcript.forget();
  location.reload();
}

/**
 * A rename refused: whether the page handled it quietly, as a refusal of its
 * own asking for the tab's name (not something the person did): said once as
 * a plain line, never as an error; a taken name is asked for again later.
 */
function nameRefused(name: string, code: string): boolean {
  const refusal = ownName.refused(name, code);
  if (refusal === 'say') {
    const text = `${name} is in use elsewhere (another tab or window, or this tab before its reload), so you are ${client.nickname ?? 'someone else'} here for now.`;
    log.add({ kind: 'system', event: 'name-in-use', text, time: Date.now() });
  }
  return refusal !== 'shown';
}

/** The SDK with the resume point this tab saved, if it is still usable, asking for the tab's name on a new session. */
function newClient(): SwitchboardClient {
  const nickname = ownName.wanted;
  const resume = storedSession();
  if (resume) {
    try {
      return new SwitchboardClient({ url, nickname, resume, getToken });
    } catch {
      // A damaged resume point: start a new session.
    }
  }
  return new SwitchboardClient({ url, nickname, getToken });
}

function missedNotice(): void {
  log.add({ kind: 'system', event: 'missed', text: 'Reconnected, but you may have missed messages.', time: Date.now() });
}

/** Save the resume point and the lines shown once the frames read now are done (once per batch, not per frame). */
function saveSoon(): void {
  if (saveDue) return;
  saveDue = true;
  queueMicrotask(() => {
    saveDue = false;
    saveSession();
    transcript.save();
  });
}

function saveSession(): void {
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(client.resumePoint ?? null));
  } catch {
    // Storage may be off: a reload then starts a new session.
  }
}

function storedSession(): ResumePoint | undefined {
  try {
    return (JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as ResumePoint | null) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The chat page: wires the DOM in index.html to a SwitchboardClient. The page
 * connects to the gateway that served it, on `/ws`, with protocol v2: a reload
 * or a network blip resumes the session (same name, the missed lines, no
 * connect/disconnect notices), from the resume point kept in sessionStorage.
 */
import { ClientError, SwitchboardClient, type ResumePoint, type StateChange } from '@switchboard/client';
import { CloseCode, validateNickname } from '@switchboard/protocol';
import { LogView, entryOf } from './log-view.js';

const NICK_KEY = 'switchboard.nickname';
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

const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
const client = newClient();
const log = new LogView($<HTMLOListElement>('log'), () => client.id);

let lastSent = '';
let unread = 0;
const baseTitle = document.title;

showLimits();

client.on('state', showState);
client.on('frame', (frame) => {
  saveSession();
  // A resumed session goes on where it was: no second welcome line. A refusal
  // with a ref is the SDK's to retry or to report as 'rejected'.
  const shown = !(frame.type === 'welcome' && frame.resumed) && !(frame.type === 'error' && frame.ref !== undefined);
  const entry = shown ? entryOf(frame) : undefined;
  if (entry) log.add(entry);
  if (frame.type === 'message' && document.hidden) {
    unread += 1;
    document.title = `(${unread}) ${baseTitle}`;
  }
});
client.on('welcome', () => {
  showNickname();
  showLimits();
});
client.on('close', ({ code }) => {
  // Another tab or window (a duplicated tab copies this one's session) resumed
  // this session: it is theirs now. This tab becomes a new person, not a rival
  // that takes the session back.
  if (code === CloseCode.SESSION_RESUMED_ELSEWHERE) startAfresh();
});
client.on('resumeFailed', () => missedNotice());
client.on('gap', () => missedNotice());
client.on('rejected', ({ error }) => {
  if (error.code === 'CLOSED') return;
  log.add({ kind: 'error', text: error.message, time: Date.now() });
  say(error.message);
});
client.on('nick_update', (frame) => {
  if (frame.id !== client.id) return;
  showNickname();
  try {
    localStorage.setItem(NICK_KEY, frame.nickname);
  } catch {
    // Storage may be off (private mode); the name then lasts for this page only.
  }
});
client.on('error', (frame) => frame.ref === undefined && say(frame.message));

compose.addEventListener('submit', (event) => {
  event.preventDefault();
  const line = textInput.value;
  if (line.trim() === '') return;
  if (act(() => client.submit(line))) {
    lastSent = line;
    textInput.value = '';
    updateCounter();
  }
});

nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (act(() => client.setNick(nickInput.value.trim()))) textInput.focus();
});

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
  document.title = baseTitle;
});

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

function say(text: string): void {
  hint.textContent = text;
}

function showState(change: StateChange): void {
  statusBox.dataset.state = change.state;
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
  location.reload();
}

/** The SDK with the resume point this tab saved, if it is still usable. */
function newClient(): SwitchboardClient {
  const nickname = storedNickname();
  const resume = storedSession();
  if (resume) {
    try {
      return new SwitchboardClient({ url, nickname, resume });
    } catch {
      // A damaged resume point: start a new session.
    }
  }
  return new SwitchboardClient({ url, nickname });
}

function missedNotice(): void {
  log.add({ kind: 'system', event: 'missed', text: 'Reconnected, but you may have missed messages.', time: Date.now() });
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

function storedNickname(): string | undefined {
  try {
    const name = localStorage.getItem(NICK_KEY) ?? undefined;
    return name !== undefined && !validateNickname(name) && !/\s/u.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

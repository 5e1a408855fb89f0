import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ClientError, SwitchboardClient, type CloseInfo, type WebSocketConstructor } from '@switchboard/client';
import { DialReports, closeFailure, dialFailure } from './dial-failure.js';
import { answerLine, chatLine, roomTag, safeText } from './format.js';

export interface TerminalOptions {
  readonly url: string;
  readonly nickname: string;
  readonly WebSocket: WebSocketConstructor;
  /** Lines to send, one per line; its end (Ctrl-D) quits. */
  readonly input: Readable;
  /** The conversation: one line per chat line, notice and rename, and the answers to /join, /who and /rooms. */
  readonly output: Writable;
  /** Status and refusals: connecting, reconnecting, errors. */
  readonly status: Writable;
  /** A person at a terminal: show a prompt and keep it below incoming lines. */
  readonly interactive: boolean;
  /** Identity on: the token to connect with (SWITCHBOARD_TOKEN; `switchboard token` mints one). */
  readonly token?: string;
}

/** On end of input, the longest wait for the gateway to acknowledge the last lines sent, in ms. */
const ECHO_WAIT_MS = 2_000;

/** Exit status when the client never connected (quit meanwhile, or given up), or its connection was closed for good. */
export const EXIT_NOT_CONNECTED = 1;

/** A running terminal client. */
export interface TerminalSession {
  /**
   * Resolves with the exit status once the client has closed: 0 when asked to
   * quit after it had connected; EXIT_NOT_CONNECTED when it never connected, or
   * its connection was closed for good.
   */
  readonly done: Promise<number>;
  /** Quit as Ctrl-C does: flush what was sent, close, resolve `done`. */
  stop(): void;
}

/**
 * The terminal client: prints what arrives with nick and time, sends each input
 * line (`/nick NAME` renames, `/join ROOM` moves to a room, `/who` and `/rooms`
 * ask, `/quit` quits), and holds lines typed while the connection is down until
 * it is back. It speaks protocol v2 through the SDK: a dropped connection resumes
 * (same name, same room, the lines missed, no notices), and a line is sent until
 * the server acknowledges it. A room's recent lines, sent after connecting and
 * after each join, are printed between `-- earlier in #room --` and `-- now --`.
 * Until it has connected once, each failed attempt says why (`cannot connect to
 * URL: connection refused (retrying in 1.2 s)`).
 */
export function runTerminal(options: TerminalOptions): TerminalSession {
  const { input, output, status, interactive } = options;
  const dials = new DialReports(options.WebSocket);
  const client = new SwitchboardClient({ url: options.url, nickname: options.nickname, WebSocket: dials.WebSocket, token: options.token });
  const rl = createInterface({ input, output: interactive ? output : undefined, terminal: interactive, prompt: '> ' });

  // Keep the prompt and what the person is typing below whatever gets printed.
  const print = (stream: Writable, line: string) => {
    if (interactive) {
      clearLine(output, 0);
      cursorTo(output, 0);
    }
    stream.write(`${line}\n`);
    if (interactive) rl.prompt(true);
  };
  const note = (line: string) => print(status, `* ${line}`);
  /** Whether the last line printed was a history line: the next live one gets `-- now --` first. */
  const shown = { inHistory: false };
  const conversation = (line: string, history: boolean) => {
    if (history && !shown.inHistory) print(output, `-- earlier in ${roomTag(client.room ?? '')} --`);
    if (!history && shown.inHistory) print(output, '-- now --');
    shown.inHistory = history;
    print(output, line);
  };
  // The prompt names the room (interactive only).
  const showRoom = () => {
    if (client.room !== undefined) rl.setPrompt(`${roomTag(client.room)}> `);
  };

  /** Set by stop() (Ctrl-C) or the end of input; read in callbacks, so kept in an object the types do not narrow. */
  const run = { stopping: false, connected: false };
  let exitCode = 0;
  /** How the latest connection attempt ended. */
  let lastClose: CloseInfo | undefined;
  let closing: Promise<void> | undefined;
  // Lines sent and not yet acknowledged: on end of input the client waits for them.
  const unacknowledged = new Set<Promise<unknown>>();
  const closeClient = () => (closing ??= client.close());

  client.on('state', ({ state, attempt, delayMs }) => {
    if (state === 'connecting') note(`connecting to ${options.url}`);
    if (state === 'reconnecting') {
      const wait = `${((delayMs ?? 0) / 1000).toFixed(1)} s`;
      if (run.connected) note(`connection lost; retry ${attempt} in ${wait}`);
      else note(`cannot connect to ${options.url}: ${whyNotConnected()} (retrying in ${wait})`);
    }
    if (state === 'closed' && !run.stopping) {
      exitCode = EXIT_NOT_CONNECTED;
      rl.close();
    }
  });
  client.on('close', (close) => {
    lastClose = close;
    const { code, reason, willReconnect } = close;
    if (run.stopping || willReconnect) return;
    if (run.connected) note(`connection closed (${code}${reason ? `: ${safeText(reason)}` : ''})`);
    else note(`cannot connect to ${options.url}: ${whyNotConnected()}`);
  });
  client.on('welcome', (frame) => {
    run.connected = true;
    note(`${frame.resumed ? 'resumed on' : 'connected to'} node ${safeText(frame.node)} as ${safeText(frame.nickname)}`);
    showRoom();
  });
  client.on('joined', showRoom);
  client.on('resumeFailed', () => note('reconnected, but you may have missed messages'));
  client.on('gap', () => note('you may have missed messages'));
  client.on('frame', (frame) => {
    const line = chatLine(frame) ?? answerLine(frame, Date.now());
    if (line !== undefined) conversation(line, frame.type === 'message' && frame.history === true);
  });
  // A refusal of a line of ours is the SDK's: retried ("not now") or reported as rejected.
  client.on('error', (frame) => frame.ref === undefined && print(status, `! ${safeText(frame.message)}`));
  client.on('rejected', ({ error }) => error.code !== 'CLOSED' && print(status, `! ${safeText(error.message)}`));

  const stop = () => {
    run.stopping = true;
    rl.close();
    void closeClient();
  };
  rl.on('SIGINT', stop);

  const done = (async () => {
    let heldNoticeShown = false;
    client.connect().catch(() => undefined); // failures arrive as state changes
    for await (const line of rl) {
      if (interactive) output.write('\x1b[1A\x1b[2K'); // the echo replaces the typed line
      if (line.trim() === '') continue;
      if (line.trim() === '/quit') break;
      if (client.state !== 'open' && !heldNoticeShown) {
        note('not connected yet; lines are sent once it is');
        heldNoticeShown = true;
      }
      try {
        await client.whenOpen();
        const sent = client.submit(line).catch(() => undefined);
        unacknowledged.add(sent);
        void sent.finally(() => unacknowledged.delete(sent));
      } catch (err) {
        if (!(err instanceof ClientError)) throw err;
        if (client.state === 'closed') break;
        print(status, `! ${err.message}`);
      }
    }
    if (!run.stopping && unacknowledged.size > 0) await acknowledged(ECHO_WAIT_MS);
    run.stopping = true;
    await closeClient();
    if (run.connected) return exitCode;
    note(`never connected to ${options.url}`);
    return EXIT_NOT_CONNECTED;
  })();

  /** Why the latest attempt failed: the error of its dial (refused, DNS, TLS, an HTTP status), else how it closed. */
  function whyNotConnected(): string {
    if (dials.error !== undefined) return safeText(dialFailure(dials.error, options.url));
    return lastClose === undefined ? 'no answer' : safeText(closeFailure(lastClose));
  }

  /** Resolves once every line sent is acknowledged (or refused), or after `ms`. */
  function acknowledged(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void Promise.allSettled([...unacknowledged]).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  if (interactive) rl.prompt();
  return { done, stop };
}

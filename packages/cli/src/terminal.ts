import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { ClientError, SwitchboardClient, type WebSocketConstructor } from '@switchboard/client';
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
}

/** On end of input, the longest wait for the gateway to acknowledge the last lines sent, in ms. */
const ECHO_WAIT_MS = 2_000;

/** A running terminal client. */
export interface TerminalSession {
  /** Resolves with the exit status once the client has closed: 0 when asked to quit. */
  readonly done: Promise<number>;
  /** Quit as Ctrl-C does: flush what was sent, close, resolve `done` with 0. */
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
 */
export function runTerminal(options: TerminalOptions): TerminalSession {
  const { input, output, status, interactive } = options;
  const client = new SwitchboardClient({ url: options.url, nickname: options.nickname, WebSocket: options.WebSocket });
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
  const run = { stopping: false };
  let exitCode = 0;
  let closing: Promise<void> | undefined;
  // Lines sent and not yet acknowledged: on end of input the client waits for them.
  const unacknowledged = new Set<Promise<unknown>>();
  const closeClient = () => (closing ??= client.close());

  client.on('state', ({ state, attempt, delayMs }) => {
    if (state === 'connecting') note(`connecting to ${options.url}`);
    if (state === 'reconnecting') note(`connection lost; retry ${attempt} in ${((delayMs ?? 0) / 1000).toFixed(1)} s`);
    if (state === 'closed' && !run.stopping) {
      exitCode = 1;
      rl.close();
    }
  });
  client.on('close', ({ code, reason, willReconnect }) => {
    if (!run.stopping && !willReconnect) note(`connection closed (${code}${reason ? `: ${safeText(reason)}` : ''})`);
  });
  client.on('welcome', (frame) => {
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
    return exitCode;
  })();

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

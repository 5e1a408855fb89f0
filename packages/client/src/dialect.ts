import {
  parseServerFrame,
  ProtocolError,
  SUBPROTOCOL_V2,
  type Epoch,
  type Seq,
  type ServerFrame,
  type SessionToken,
} from '@switchboard/protocol';

/** Where a v2 session stands: what a `hello` needs to resume it. */
export interface ResumeFrom {
  readonly session: SessionToken;
  /** The last `seq` delivered to the application. */
  readonly since: Seq;
  readonly epoch: Epoch;
}

/**
 * How frames are written and read on one connection: the seam where protocol
 * versions (negotiated by WebSocket subprotocol) plug in. The transport and
 * reconnect logic in SwitchboardClient never look inside a frame's text.
 */
export interface Dialect {
  /** The WebSocket subprotocol that selects this dialect; '' for the seed's (none offered). */
  readonly subprotocol: string;
  /** Whether the server acknowledges frames by their `ref` (and resumes sessions). */
  readonly acknowledges: boolean;
  /** The first frame to send once the socket is open; undefined when the dialect has none. */
  hello(resume: ResumeFrom | undefined): string | undefined;
  /** A chat line; `ref` is ignored by dialects that do not acknowledge. */
  encodeMessage(text: string, ref?: string): string;
  /** A rename. */
  encodeNick(nickname: string, ref?: string): string;
  /** One text frame from the server; undefined when it is not a frame this dialect knows. */
  decode(text: string): ServerFrame | undefined;
}

function decodeServerFrame(text: string): ServerFrame | undefined {
  try {
    return parseServerFrame(text);
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
}

/**
 * Protocol v1, the seed's: plain text frames, `/nick NAME` renames. A chat line
 * that itself starts with `/nick ` is therefore a rename, as in the seed.
 */
export const seedDialect: Dialect = {
  subprotocol: '',
  acknowledges: false,
  hello: () => undefined,
  encodeMessage: (text) => text,
  encodeNick: (nickname) => `/nick ${nickname}`,
  decode: decodeServerFrame,
};

/**
 * Protocol v2 (subprotocol `switchboard.v2`): JSON frames, a `hello` first that
 * may resume a session, and a `ref` on every frame that the server echoes as its
 * acknowledgement. A chat line is always a chat line, whatever it starts with.
 */
export const v2Dialect: Dialect = {
  subprotocol: SUBPROTOCOL_V2,
  acknowledges: true,
  hello: (resume) => JSON.stringify(resume ? { type: 'hello', ...resume } : { type: 'hello' }),
  encodeMessage: (message, ref) => JSON.stringify({ type: 'message', message, ...(ref === undefined ? {} : { ref }) }),
  encodeNick: (nickname, ref) => JSON.stringify({ type: 'nick', nickname, ...(ref === undefined ? {} : { ref }) }),
  decode: decodeServerFrame,
};

/** The dialect the server picked, by the subprotocol it answered with. */
export function pickDialect(dialects: readonly Dialect[], protocol: string): Dialect {
  return dialects.find((d) => d.subprotocol === protocol) ?? seedDialect;
}

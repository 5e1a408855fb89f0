import {
  parseServerFrame,
  parseServerFrames,
  ProtocolError,
  SUBPROTOCOL_V2,
  type Epoch,
  type Seq,
  type ServerFrame,
  type SessionToken,
} from '@switchboard/protocol';

/** Which protocol to speak: `v2` (subprotocol `switchboard.v2`: resume, acknowledgements) or the seed's `v1`. */
export type ProtocolVersion = 'v1' | 'v2';

/** Where a v2 session stands: what a `hello` needs to resume it. */
export interface ResumeFrom {
  readonly session: SessionToken;
  /** The last `seq` delivered to the application. */
  readonly since: Seq;
  readonly epoch: Epoch;
}

/**
 * How frames are written and read in one protocol version: the seam where
 * versions (negotiated by WebSocket subprotocol) plug in. The transport never
 * looks inside a frame's text; the codec never touches a socket.
 */
export interface ProtocolCodec {
  readonly version: ProtocolVersion;
  /** The WebSocket subprotocol that selects this codec; '' for the seed's (none offered). */
  readonly subprotocol: string;
  /** Whether the server acknowledges frames by their `ref` (and resumes sessions). */
  readonly acknowledges: boolean;
  /** The first frame to send once the socket is open; undefined when the protocol has none. */
  hello(resume: ResumeFrom | undefined): string | undefined;
  /** A chat line; `ref` is ignored by codecs that do not acknowledge. */
  encodeMessage(text: string, ref?: string): string;
  /** A rename. */
  encodeNick(nickname: string, ref?: string): string;
  /** One text frame from the server, as the frames it carries, in order; undefined when it cannot be read. */
  decode(text: string): readonly ServerFrame[] | undefined;
}

/**
 * Protocol v1, the seed's: plain text frames, `/nick NAME` renames. A chat line
 * that itself starts with `/nick ` is therefore a rename, as in the seed. One
 * server frame per text frame.
 */
export const seedCodec: ProtocolCodec = {
  version: 'v1',
  subprotocol: '',
  acknowledges: false,
  hello: () => undefined,
  encodeMessage: (text) => text,
  encodeNick: (nickname) => `/nick ${nickname}`,
  decode: (text) => unlessInvalid(() => [parseServerFrame(text)]),
};

/**
 * Protocol v2 (subprotocol `switchboard.v2`): JSON frames, a `hello` first that
 * may resume a session, and a `ref` on every frame that the server echoes as its
 * acknowledgement. A chat line is always a chat line, whatever it starts with.
 * A server text frame may be a batch, one frame per line (parseServerFrames):
 * its frames are read in order, each as if it had come alone.
 */
export const v2Codec: ProtocolCodec = {
  version: 'v2',
  subprotocol: SUBPROTOCOL_V2,
  acknowledges: true,
  hello: (resume) => JSON.stringify(resume ? { type: 'hello', ...resume } : { type: 'hello' }),
  encodeMessage: (message, ref) => JSON.stringify({ type: 'message', message, ...(ref === undefined ? {} : { ref }) }),
  encodeNick: (nickname, ref) => JSON.stringify({ type: 'nick', nickname, ...(ref === undefined ? {} : { ref }) }),
  decode: (text) => unlessInvalid(() => parseServerFrames(text)),
};

/** The codec the server picked, by the subprotocol it answered with. */
export function pickCodec(codecs: readonly ProtocolCodec[], subprotocol: string): ProtocolCodec {
  return codecs.find((c) => c.subprotocol === subprotocol) ?? seedCodec;
}

function unlessInvalid(parse: () => ServerFrame[]): ServerFrame[] | undefined {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
}

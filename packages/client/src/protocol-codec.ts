import {
  parseServerFrame,
  parseServerFrames,
  ProtocolError,
  SUBPROTOCOL_V2,
  JOIN_COMMAND,
  ROOMS_COMMAND,
  HELP_COMMAND,
  WHO_COMMAND,
  withRef,
  type Epoch,
  type RoomName,
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
  /** The room `since` and `epoch` belong to (each room has its own sequence); absent for servers without rooms. */
  readonly room?: RoomName;
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
  /** A move to another room (a name parseRoomName accepted). */
  encodeJoin(room: RoomName, ref?: string): string;
  /** Who is in my room. */
  encodeWho(ref?: string): string;
  /** Which rooms have people in them. */
  encodeRooms(ref?: string): string;
  /** Which commands there are. */
  encodeHelp(ref?: string): string;
  /** One text frame from the server, as the frames it carries, in order; undefined when it cannot be read. */
  decode(text: string): readonly ServerFrame[] | undefined;
}

/**
 * Protocol v1, the seed's: plain text frames, `/nick NAME` renames, `/join ROOM`,
 * `/who` and `/rooms` ask. A chat line that itself starts with one of these
 * commands is therefore that command, as in the seed. One server frame per text frame.
 */
export const seedCodec: ProtocolCodec = {
  version: 'v1',
  subprotocol: '',
  acknowledges: false,
  hello: () => undefined,
  encodeMessage: (text) => text,
  encodeNick: (nickname) => `/nick ${nickname}`,
  encodeJoin: (room) => `${JOIN_COMMAND} ${room}`,
  encodeWho: () => WHO_COMMAND,
  encodeRooms: () => ROOMS_COMMAND,
  encodeHelp: () => HELP_COMMAND,
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
  encodeMessage: (message, ref) => v2Frame({ type: 'message', message }, ref),
  encodeNick: (nickname, ref) => v2Frame({ type: 'nick', nickname }, ref),
  encodeJoin: (room, ref) => v2Frame({ type: 'join', room }, ref),
  encodeWho: (ref) => v2Frame({ type: 'who' }, ref),
  encodeRooms: (ref) => v2Frame({ type: 'rooms' }, ref),
  encodeHelp: (ref) => v2Frame({ type: 'help' }, ref),
  decode: (text) => unlessInvalid(() => parseServerFrames(text)),
};

/** The codec the server picked, by the subprotocol it answered with. */
export function pickCodec(codecs: readonly ProtocolCodec[], subprotocol: string): ProtocolCodec {
  return codecs.find((c) => c.subprotocol === subprotocol) ?? seedCodec;
}

function v2Frame(fields: { readonly type: string } & Record<string, string>, ref: string | undefined): string {
  return JSON.stringify({ ...fields, ...withRef(ref) });
}

function unlessInvalid(parse: () => ServerFrame[]): ServerFrame[] | undefined {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
}

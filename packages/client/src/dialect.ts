import { parseServerFrame, ProtocolError, type ServerFrame } from '@switchboard/protocol';

/**
 * How frames are written and read on one connection: the seam where a later
 * protocol version (negotiated by WebSocket subprotocol) plugs in. The transport
 * and reconnect logic in SwitchboardClient never look inside a frame's text.
 */
export interface Dialect {
  /** The WebSocket subprotocol that selects this dialect; '' for the seed's (none offered). */
  readonly subprotocol: string;
  /** A chat line. */
  encodeMessage(text: string): string;
  /** A rename. */
  encodeNick(nickname: string): string;
  /** One text frame from the server; undefined when it is not a frame this dialect knows. */
  decode(text: string): ServerFrame | undefined;
}

/**
 * Protocol v1, the seed's: plain text frames, `/nick NAME` renames. A chat line
 * that itself starts with `/nick ` is therefore a rename, as in the seed.
 */
export const seedDialect: Dialect = {
  subprotocol: '',
  encodeMessage: (text) => text,
  encodeNick: (nickname) => `/nick ${nickname}`,
  decode(text) {
    try {
      return parseServerFrame(text);
    } catch (err) {
      if (err instanceof ProtocolError) return undefined;
      throw err;
    }
  },
};

/** The dialect the server picked, by the subprotocol it answered with. */
export function pickDialect(dialects: readonly Dialect[], protocol: string): Dialect {
  return dialects.find((d) => d.subprotocol === protocol) ?? seedDialect;
}

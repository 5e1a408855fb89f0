import { PassThrough } from 'node:stream';
import { linesOf } from '@switchboard/testkit';
import type { ClientLimits, MemberInfo } from '@switchboard/protocol';
import { fakeWebSocket, type FakeSocket } from '../../client/test/fake-socket.js';
import { runTerminal, type TerminalSession } from '../src/terminal.js';

export const WAIT_MS = 5_000;
/** The lobby's epoch; another room's is `ep-NAME`. */
export const EPOCH = 'ep-1';
export const LIMITS: ClientLimits = { maxMessageBytes: 100, messageRatePerSec: 20, messageBurst: 40, maxNicknameLength: 32 };
/** 12:03:04 UTC on 1 January 2026, the time of every broadcast unless told. */
export const NOON = Date.UTC(2026, 0, 1, 12, 3, 4);

const me = { id: 'id-ada', nickname: 'ada' };

/** One room of the fake gateway: its own sequence, its people, its recent lines. */
interface FakeRoom {
  readonly epoch: string;
  seq: number;
  people: MemberInfo[];
  history: Array<Record<string, unknown>>;
}

/**
 * The terminal client in this process, on a fake socket that answers as a v2
 * gateway with rooms would (welcome in `lobby`, echoes of its lines in its room,
 * `joined` and the room's recent lines, `members`, `rooms`, and the refusal the
 * test asks for): what it prints, to which stream, is the test's subject, not the network.
 */
export function terminal() {
  const { WebSocket, sockets } = fakeWebSocket();
  const input = new PassThrough();
  const output = new PassThrough();
  const status = new PassThrough();
  const out = linesOf(output, (line) => line);
  const err = linesOf(status, (line) => line);
  const session = runTerminal({ url: 'ws://fake.test/ws', nickname: 'ada', WebSocket, input, output, status, interactive: false });
  const socket = sockets[0]!;
  const rooms = new Map<string, FakeRoom>([['lobby', { epoch: EPOCH, seq: 10, people: [me], history: [] }]]);
  const roomOf = (name: string): FakeRoom => {
    let room = rooms.get(name);
    if (room === undefined) {
      room = { epoch: `ep-${name}`, seq: 100, people: [], history: [] };
      rooms.set(name, room);
    }
    return room;
  };
  const server = {
    socket,
    /** The room the client is in. */
    room: 'lobby',
    /** The next frame the client sends gets this error, with its ref. */
    refusal: undefined as { code: string; message: string } | undefined,
    roomOf,
    rooms: () => rooms,
    /** A broadcast from the server in `frame.room` (the client's room unless told), with that room's next seq. */
    broadcast(frame: Record<string, unknown>): void {
      const name = typeof frame.room === 'string' ? frame.room : server.room;
      const room = roomOf(name);
      room.seq += 1;
      socket.frame({ room: name, epoch: room.epoch, seq: room.seq, time: NOON, ...frame });
    },
    /** The frames the client sent after its hello, parsed. */
    received: (): Array<Record<string, unknown>> => socket.sentJson.slice(1),
  };
  serve(socket, server);
  return { session, input, out, err, server };
}

type FakeServer = ReturnType<typeof terminal>['server'];

/** Answer as a v2 gateway: welcome with LIMITS, echo each line and rename with its ref, answer requests, close when asked. */
function serve(socket: FakeSocket, server: FakeServer): void {
  const send = socket.send.bind(socket);
  const answer = (frame: Record<string, unknown>) => queueMicrotask(() => socket.frame({ ...me, ...frame }));
  socket.send = (data: string) => {
    send(data);
    const frame = JSON.parse(data) as Record<string, unknown>;
    const ref = frame.ref;
    if (server.refusal && frame.type !== 'hello') {
      answer({ type: 'error', ...server.refusal, ref });
      server.refusal = undefined;
      return;
    }
    switch (frame.type) {
      case 'message':
        server.broadcast({ type: 'message', ...me, message: frame.message, ref });
        break;
      case 'nick':
        server.broadcast({
          type: 'nick_update',
          ...me,
          nickname: frame.nickname,
          previous: 'ada',
          message: `Client ada changed to ${String(frame.nickname)}`,
          ref,
        });
        break;
      case 'join': {
        const name = String(frame.room);
        server.roomOf(server.room).people = server.roomOf(server.room).people.filter((p) => p.id !== me.id);
        server.room = name;
        const room = server.roomOf(name);
        room.people.push(me);
        answer({ type: 'joined', message: `You are in #${name}.`, room: name, epoch: room.epoch, seq: room.seq, ref });
        room.history.forEach((line, i) => {
          answer({ ...line, room: name, epoch: room.epoch, seq: room.seq - room.history.length + 1 + i, history: true });
        });
        break;
      }
      case 'who': {
        const people = server.roomOf(server.room).people;
        answer({ type: 'members', message: 'x', room: server.room, members: people, count: people.length, ref });
        break;
      }
      case 'rooms': {
        const list = [...server.rooms()].map(([room, r]) => ({ room, count: r.people.length })).filter((r) => r.count > 0);
        answer({ type: 'rooms', message: 'x', rooms: list, ref });
        break;
      }
    }
  };
  socket.close = (code?: number, reason?: string) => {
    socket.closedWith = { code, reason };
    queueMicrotask(() => socket.finishClose());
  };
  queueMicrotask(() => {
    socket.open('switchboard.v2');
    socket.frame({
      type: 'welcome',
      ...me,
      node: 'gw-fake',
      message: 'Welcome, ada!',
      session: 's',
      room: 'lobby',
      epoch: EPOCH,
      seq: 10,
      resumed: false,
      limits: LIMITS,
    });
  });
}

export async function quit(t: { input: PassThrough; session: TerminalSession }): Promise<number> {
  t.input.end();
  return t.session.done;
}

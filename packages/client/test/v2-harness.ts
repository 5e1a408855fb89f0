import assert from 'node:assert/strict';
import type { ClientLimits } from '@switchboard/protocol';
import { SwitchboardClient, type Acknowledgement, type ClientOptions, type Gap, type Rejection, type ResumeFailure } from '../src/index.js';
import { fakeWebSocket, type FakeSocket } from './fake-socket.js';

/** Helpers for the protocol v2 tests: a client on fake sockets and the frames a v2 server sends. */

export const URL = 'ws://gateway.test/ws';
export const V2 = 'switchboard.v2';
export const EPOCH = 'ep-1';

/** A client on fake sockets, recording every v2 event the tests look at. */
export function setup(options: Partial<ClientOptions> = {}) {
  const fake = fakeWebSocket();
  const client = new SwitchboardClient({
    url: URL,
    WebSocket: fake.WebSocket,
    random: () => 0,
    reconnect: { initialDelayMs: 100, jitter: 0 },
    ...options,
  });
  const delivered: Array<{ seq: number; message: string }> = [];
  const acked: Acknowledgement[] = [];
  const rejected: Rejection[] = [];
  const failures: ResumeFailure[] = [];
  const gaps: Gap[] = [];
  client.on('message', (m) => delivered.push({ seq: m.seq, message: m.message }));
  client.on('acked', (a) => acked.push(a));
  client.on('rejected', (r) => rejected.push(r));
  client.on('resumeFailed', (f) => failures.push(f));
  client.on('gap', (g) => gaps.push(g));
  const socket = (i: number): FakeSocket => {
    const s = fake.sockets[i];
    assert.ok(s, `socket ${i} was opened`);
    return s;
  };
  return { client, sockets: fake.sockets, socket, delivered, acked, rejected, failures, gaps };
}

export interface WelcomeFields {
  id?: string;
  nickname?: string;
  session?: string;
  epoch?: string;
  seq?: number;
  resumed?: boolean;
  node?: string;
  limits?: ClientLimits;
  /** The room the welcome names; none (a server without rooms) unless given. */
  room?: string;
}

/** The welcome a v2 server sends, with defaults for every field not given. */
export function welcomeFrame(fields: WelcomeFields = {}): Record<string, unknown> {
  const {
    id = 'id-1',
    nickname = 'AnonymousUser1',
    session = 'tok-1',
    epoch = EPOCH,
    seq = 10,
    resumed = false,
    node = 'gw-1',
    limits,
    room,
  } = fields;
  return {
    type: 'welcome',
    id,
    nickname,
    node,
    message: `Welcome, ${nickname}!`,
    session,
    epoch,
    seq,
    resumed,
    ...(limits && { limits }),
    ...(room !== undefined && { room }),
  };
}

/** Open the socket as a v2 server would and check the client's hello; returns the hello. */
export function openV2(socket: FakeSocket): Record<string, unknown> {
  socket.open(V2);
  const hello = socket.sentJson[0];
  assert.equal(hello?.type, 'hello', 'the first frame is hello');
  return hello;
}

/** Open the socket as a v2 server would, check the client's hello, then welcome it. */
export function welcome(socket: FakeSocket, fields: WelcomeFields = {}): Record<string, unknown> {
  const hello = openV2(socket);
  socket.frame(welcomeFrame(fields));
  return hello;
}

export function message(seq: number, text: string, extra: Record<string, unknown> = {}) {
  return { type: 'message', id: 'other', nickname: 'bob', message: text, time: 1, seq, epoch: EPOCH, ...extra };
}

/** Frames the client sent after its hello, parsed. */
export const after = (socket: FakeSocket) => socket.sentJson.slice(1);

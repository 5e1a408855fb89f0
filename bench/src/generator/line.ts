/**
 * The chat lines the generator sends: `~<phase>~<sentUs>~<room>~<n>~` padded
 * with `x` to the line size. The phase tells warm-up lines from measured ones;
 * the room, the room it was said in (0 where there are no rooms); the send
 * time is CLOCK_MONOTONIC in microseconds, the same clock in every process of
 * this machine (and in V8's CPU profiles), so a receiver in another process can
 * take the latency. Reading a line allocates nothing: it runs once per delivery.
 */
import { performance } from 'node:perf_hooks';

/** The first character of every bench line (and of no notice). */
export const LINE_MARK = '~';
const MARK = 126; // '~'
const ZERO = 48; // '0'

/** performance.now() is the monotonic clock minus this process's start; put the start back once. */
const originUs = ((): number => {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1e6 + nanos / 1e3 - performance.now() * 1e3;
})();

/** Now, in microseconds of the monotonic clock shared by all processes. */
export function nowUs(): number {
  return originUs + performance.now() * 1e3;
}

/** One line of exactly `bytes` bytes (longer if the header alone is longer). */
export function makeLine(phase: number, sentUs: number, n: number, bytes: number, room = 0): string {
  const head = `${LINE_MARK}${phase}${LINE_MARK}${Math.round(sentUs)}${LINE_MARK}${room}${LINE_MARK}${n}${LINE_MARK}`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

/** A line's phase, send time and room, as read by readLine(). */
export interface LineStamp {
  phase: number;
  sentUs: number;
  room: number;
}

/**
 * Read the phase, send time and room of the line at `at` in `text` (a string,
 * or the bytes of an ASCII frame) into `into`; false if it is not a bench line.
 */
export function readLine(text: string | Buffer, at: number, into: LineStamp): boolean {
  if (code(text, at) !== MARK) return false;
  let i = at + 1;
  let phase = 0;
  for (let c = code(text, i); c >= ZERO && c <= ZERO + 9; c = code(text, ++i)) phase = phase * 10 + c - ZERO;
  if (code(text, i) !== MARK) return false;
  let sentUs = 0;
  for (let c = code(text, ++i); c >= ZERO && c <= ZERO + 9; c = code(text, ++i)) sentUs = sentUs * 10 + c - ZERO;
  if (code(text, i) !== MARK) return false;
  let room = 0;
  for (let c = code(text, ++i); c >= ZERO && c <= ZERO + 9; c = code(text, ++i)) room = room * 10 + c - ZERO;
  if (code(text, i) !== MARK) return false;
  into.phase = phase;
  into.sentUs = sentUs;
  into.room = room;
  return true;
}

function code(text: string | Buffer, i: number): number {
  return typeof text === 'string' ? text.charCodeAt(i) : (text[i] ?? 0);
}

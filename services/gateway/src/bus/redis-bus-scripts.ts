import { nanoid } from 'nanoid';
import type { EventDraft } from '@switchboard/protocol';
import { scriptRunner } from '../redis/scripts.js';
import type { BusLimits } from './bus.js';
import type { RoomLifetimes } from './room-lifetimes.js';
import { LUA_LIBRARY } from './room-stream-lua.js';

/**
 * The scripts of a room's stream: publishing (with ref de-duplication), reading
 * the history, the head and the recent lines, and starting a new epoch. Every
 * one takes the stream's keys and arguments first (room-stream-lua.ts).
 */
export const BUS_SCRIPTS = {
  /**
   * KEYS 1-6: stream; 7: the client's refs zset. ARGV 1-8: streamArgs(); 9: body
   * (event JSON without its opening brace); 10: ref or ''; 11: most refs kept per
   * client; 12: '1' for a chat line. Returns {seq, epoch, duplicate}. Refs live
   * as long as the history (HISTORY_MAX_AGE_MS), and no longer than the room
   * itself in a room with no chat line (the `once` keys of its notices).
   */
  sbPublish: {
    keys: 7,
    lua: `${LUA_LIBRARY}
local K_REFS = KEYS[7]
local ref = ARGV[10]
if ref ~= '' then
  local prev = redis.call('ZSCORE', K_REFS, ref)
  if prev then return {tonumber(prev), ensure_epoch(ARGV[5]), 1} end
end
local chat = ARGV[12] == '1'
local seq, epoch = publish(ARGV[9], chat)
if ref ~= '' then
  redis.call('ZADD', K_REFS, seq, ref)
  redis.call('ZREMRANGEBYRANK', K_REFS, 0, -1 - tonumber(ARGV[11]))
  local ttl = tonumber(ARGV[3])
  if not chat then ttl = math.min(ttl, tonumber(room_ttl())) end
  redis.call('PEXPIRE', K_REFS, ttl)
end
return {seq, epoch, 0}`,
  },

  /**
   * KEYS 1-6: stream. ARGV 1-8: streamArgs(); 9: since seq; 10: since epoch; 11: most
   * events; 12: most bytes. Trims first, as publishing does. Returns {epoch, head,
   * reason, events...}; with `reason` '' the events after `since`, all of them.
   */
  sbHistory: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[9])
local epoch, head, refusal = check_since(ARGV[5], ARGV[10], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if head - since > tonumber(ARGV[11]) then return {epoch, head, 'too far behind'} end
trim(true)
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local max_bytes, bytes = tonumber(ARGV[12]), 0
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '+')
for i = 1, #entries do
  local event = entries[i][2][4]
  bytes = bytes + #event
  if bytes > max_bytes then return {epoch, head, 'too far behind'} end
  out[#out + 1] = event
end
return out`,
  },

  /**
   * KEYS 1-6: stream. ARGV 1-8: streamArgs(); 9: since seq; 10: since epoch; 11: most
   * events. Up to that many events after `since` (a page, for gap repair). Returns
   * {epoch, head, reason, events...}.
   */
  sbHistoryPage: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[9])
local epoch, head, refusal = check_since(ARGV[5], ARGV[10], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '+', 'COUNT', tonumber(ARGV[11]))
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,
  },

  /** KEYS 1-6: stream. ARGV 1-8: streamArgs(); 9: how many lines (at most HISTORY_ON_JOIN). Returns {epoch, head, lines (oldest first)...}. */
  sbRecent: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
local head = tonumber(redis.call('GET', K_SEQ) or '0')
local out = {epoch, head}
local count = math.min(tonumber(ARGV[9]), tonumber(ARGV[6]))
if count > 0 then
  local lines = redis.call('LRANGE', K_RECENT, 0, count - 1)
  for i = #lines, 1, -1 do out[#out + 1] = lines[i] end
end
return out`,
  },

  /** KEYS 1-6: stream. ARGV 1-8: streamArgs(); 9: the stale epoch. Replaces the epoch (and empties the history) only if it is still the stale one. Returns {epoch, seq}. */
  sbRenewEpoch: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
if epoch == ARGV[9] then
  epoch = ARGV[5]
  reset_history(epoch)
end
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },

  /**
   * KEYS 1-6: stream. ARGV 1-8: streamArgs(). Renews the room's keys (those that
   * exist; it creates none): a room no node serves forgets them ARGV[7] ms (no
   * chat line) or ARGV[8] ms (chat lines) after this was last run for it. The
   * nodes that serve a room run it every keepAliveIntervalMs() and when they
   * leave it (RedisBus), so rooms that come and go leave nothing behind.
   */
  sbKeepAlive: {
    keys: 6,
    lua: `${LUA_LIBRARY}
expire_room(room_ttl())
return 1`,
  },

  /** KEYS 1-6: stream. ARGV 1-8: streamArgs(). Returns {epoch, seq}. */
  sbHead: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },
} as const;

export type BusScriptName = keyof typeof BUS_SCRIPTS;

/** Runs one of BUS_SCRIPTS (defined on the connection with defineScripts). */
export const runBusScript = scriptRunner(BUS_SCRIPTS);

/** A fresh epoch id, used only if the history has none (it was lost, or never existed). */
export const newEpoch = (): string => nanoid(12);

/**
 * ARGV[1..8] of a stream script (see room-stream-lua.ts): now (ms), history bounds, a
 * candidate epoch, recent lines kept, and an unused room's lifetimes.
 */
export function streamArgs(limits: BusLimits & RoomLifetimes, now: number): Array<string | number> {
  return [
    now,
    limits.historyMaxEvents,
    limits.historyMaxAgeMs,
    limits.historyMaxBytes,
    newEpoch(),
    limits.historyOnJoin,
    limits.roomTtlMs,
    limits.roomHistoryTtlMs,
  ];
}

/** An event draft as a publishing script takes it: its JSON without the opening brace (the script puts seq and epoch first). */
export function scriptBody(draft: EventDraft): string {
  return JSON.stringify(draft).slice(1);
}

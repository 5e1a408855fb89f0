import { nanoid } from 'nanoid';
import type { EventDraft } from '@switchboard/protocol';
import { scriptRunner } from '../redis/scripts.js';
import type { BusLimits } from './bus.js';
import { LUA_LIBRARY } from './room-stream-lua.js';

/**
 * The scripts of a room's stream: publishing (with ref de-duplication), reading
 * the history, the head and the recent lines, and starting a new epoch. Every
 * one takes the stream's keys and arguments first (lua-library.ts).
 */
export const BUS_SCRIPTS = {
  /**
   * KEYS 1-6: stream; 7: the client's refs zset. ARGV 1-7: streamArgs(); 8: body
   * (event JSON without its opening brace); 9: ref or ''; 10: most refs kept per
   * client; 11: '1' for a chat line. Returns {seq, epoch, duplicate}.
   */
  sbPublish: {
    keys: 7,
    lua: `${LUA_LIBRARY}
local K_REFS = KEYS[7]
local ref = ARGV[9]
if ref ~= '' then
  local prev = redis.call('ZSCORE', K_REFS, ref)
  if prev then return {tonumber(prev), ensure_epoch(ARGV[5]), 1} end
end
local seq, epoch = publish(ARGV[8], ARGV[11] == '1')
if ref ~= '' then
  redis.call('ZADD', K_REFS, seq, ref)
  redis.call('ZREMRANGEBYRANK', K_REFS, 0, -1 - tonumber(ARGV[10]))
  redis.call('PEXPIRE', K_REFS, ARGV[3])
end
return {seq, epoch, 0}`,
  },

  /**
   * KEYS 1-6: stream. ARGV 1-7: streamArgs(); 8: since seq; 9: since epoch; 10: most
   * events; 11: most bytes. Trims first, as publishing does. Returns {epoch, head,
   * reason, events...}; with `reason` '' the events after `since`, all of them.
   */
  sbHistory: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[8])
local epoch, head, refusal = check_since(ARGV[5], ARGV[9], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if head - since > tonumber(ARGV[10]) then return {epoch, head, 'too far behind'} end
trim(true)
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local max_bytes, bytes = tonumber(ARGV[11]), 0
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
   * KEYS 1-6: stream. ARGV 1-7: streamArgs(); 8: since seq; 9: since epoch; 10: most
   * events. Up to that many events after `since` (a page, for gap repair). Returns
   * {epoch, head, reason, events...}.
   */
  sbHistoryPage: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[8])
local epoch, head, refusal = check_since(ARGV[5], ARGV[9], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '+', 'COUNT', tonumber(ARGV[10]))
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,
  },

  /** KEYS 1-6: stream. ARGV 1-7: streamArgs(); 8: how many lines. Returns {epoch, head, lines (oldest first)...}. */
  sbRecent: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
local head = tonumber(redis.call('GET', K_SEQ) or '0')
local out = {epoch, head}
local count = tonumber(ARGV[8])
if count > 0 then
  local lines = redis.call('LRANGE', K_RECENT, 0, count - 1)
  for i = #lines, 1, -1 do out[#out + 1] = lines[i] end
end
return out`,
  },

  /** KEYS 1-6: stream. ARGV 1-7: streamArgs(); 8: the stale epoch. Replaces the epoch (and empties the history) only if it is still the stale one. Returns {epoch, seq}. */
  sbRenewEpoch: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
if epoch == ARGV[8] then
  epoch = ARGV[5]
  reset_history(epoch)
end
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },

  /**
   * KEYS 1-6: stream. ARGV 1-7: streamArgs(). A room no node serves forgets its
   * keys ARGV[7] ms after this was last run for it (the nodes that serve it run
   * it now and then: RedisBus), so rooms that come and go leave nothing behind.
   */
  sbKeepAlive: {
    keys: 6,
    lua: `
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
return 1`,
  },

  /** KEYS 1-6: stream. ARGV 1-7: streamArgs(). Returns {epoch, seq}. */
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
 * How long a room's keys live once no node serves it, in ms: it forgets its
 * history's epoch (the history was trimmed long before), so rooms that come and
 * go leave nothing behind in Redis. Nodes that serve a room keep it alive every
 * ROOM_KEEPALIVE_MS (RedisBus).
 */
export const ROOM_KEYS_TTL_MS = 24 * 60 * 60 * 1000;

/** How often a node renews the keys of the rooms it serves, in ms. */
export const ROOM_KEEPALIVE_MS = 60 * 60 * 1000;

/**
 * ARGV[1..7] of a stream script (see lua-library.ts): now (ms), history bounds, a
 * candidate epoch, recent lines kept, room keys' lifetime.
 */
export function streamArgs(limits: BusLimits, now: number): Array<string | number> {
  return [now, limits.historyMaxEvents, limits.historyMaxAgeMs, limits.historyMaxBytes, newEpoch(), limits.historyOnJoin, ROOM_KEYS_TTL_MS];
}

/** An event draft as a publishing script takes it: its JSON without the opening brace (the script puts seq and epoch first). */
export function scriptBody(draft: EventDraft): string {
  return JSON.stringify(draft).slice(1);
}

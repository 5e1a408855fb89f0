import { nanoid } from 'nanoid';
import type { EventDraft } from '@switchboard/protocol';
import { scriptRunner, scriptThenWait } from '../redis/scripts.js';
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
   * KEYS 1-8: stream; 9: the client's refs zset. ARGV 1-8: streamArgs(); 9: body
   * (event JSON without its opening brace); 10: ref or ''; 11: most refs kept per
   * client; 12: '1' for a chat line; 13: '1' to publish the event here, '0' to
   * leave that to the caller (after WAIT). Returns {seq, epoch, duplicate, event}:
   * `event` is the stored event's JSON for the caller to publish (with '0'; for a
   * duplicate, the original's, which may never have been published: its WAIT fell
   * short; '' if it was trimmed); '' with '1' (a duplicate not published yet is
   * published then, as sbRelease does).
   *
   * Refs are kept as `<epoch>|<ref>`: a ref is known only in the epoch its event
   * was stored in, or an earlier one whose history the current one kept, so an
   * ack is only ever given for an event in the room's history. A duplicate
   * renews the refs' TTL: a write, so that a WAIT after it also covers the
   * original's (which may have been refused: then this resend is what lets it be
   * acknowledged and published). Refs live as long as the history
   * (HISTORY_MAX_AGE_MS), and no longer than the room itself in a room with no
   * chat line (the `once` keys of its notices).
   */
  sbPublish: {
    keys: 9,
    lua: `${LUA_LIBRARY}
local K_REFS = KEYS[9]
local ref = ARGV[10]
local chat = ARGV[12] == '1'
local function refs_ttl()
  local ttl = tonumber(ARGV[3])
  if not chat then ttl = math.min(ttl, tonumber(room_ttl())) end
  return ttl
end
if ref ~= '' then
  local epoch = ensure_epoch(ARGV[5])
  local prev = redis.call('ZSCORE', K_REFS, epoch .. '|' .. ref)
  if not prev then
    for _, kept in ipairs(kept_epochs()) do
      prev = redis.call('ZSCORE', K_REFS, kept[1] .. '|' .. ref)
      if prev then break end
    end
  end
  if prev then
    redis.call('PEXPIRE', K_REFS, refs_ttl())
    local at = tonumber(prev)
    if ARGV[13] == '1' then
      -- Its first try may have been stored but never published (its WAIT fell short, and the
      -- shard has no replica to wait for now: a promoted one): publish it now, as sbRelease would.
      if at > tonumber(redis.call('GET', K_RELEASED) or '0') then
        local original = event_at(at)
        if original ~= '' then release(at, original) end
      end
      return {at, epoch, 1, ''}
    end
    return {at, epoch, 1, event_at(at)}
  end
end
local now = ARGV[13] == '1'
local seq, epoch, event = publish(ARGV[9], chat, now)
if ref ~= '' then
  redis.call('ZADD', K_REFS, seq, epoch .. '|' .. ref)
  redis.call('ZREMRANGEBYRANK', K_REFS, 0, -1 - tonumber(ARGV[11]))
  redis.call('PEXPIRE', K_REFS, refs_ttl())
end
if now then event = '' end
return {seq, epoch, 0, event}`,
  },

  /**
   * KEYS 1-8: stream. ARGV 1-8: streamArgs(); 9: since seq; 10: since epoch; 11: most
   * events; 12: most bytes. Trims first, as publishing does. Returns {epoch, head,
   * reason, since, events...}; with `reason` '' the events after `since`, all of them
   * (`since`: where they start, in the current epoch: see check_since).
   */
  sbHistory: {
    keys: 8,
    lua: `${LUA_LIBRARY}
local epoch, head, refusal, since = check_since(ARGV[5], ARGV[10], tonumber(ARGV[9]))
if refusal ~= '' or since == head then return {epoch, head, refusal, since} end
if head - since > tonumber(ARGV[11]) then return {epoch, head, 'too far behind', since} end
trim(true)
if not kept_after(since) then return {epoch, head, 'history trimmed', since} end
local out = {epoch, head, '', since}
local max_bytes, bytes = tonumber(ARGV[12]), 0
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '0-' .. head)
for i = 1, #entries do
  local event = entries[i][2][4]
  bytes = bytes + #event
  if bytes > max_bytes then return {epoch, head, 'too far behind', since} end
  out[#out + 1] = event
end
return out`,
  },

  /**
   * KEYS 1-8: stream. ARGV 1-8: streamArgs(); 9: since seq; 10: since epoch; 11: most
   * events. Up to that many events after `since` (a page, for gap repair). Returns
   * {epoch, head, reason, since, events...}.
   */
  sbHistoryPage: {
    keys: 8,
    lua: `${LUA_LIBRARY}
-- ARGV[12]: the newest seq of the reader's epoch it heard live; the mark of its release may
-- not have survived a failover (released after the WAIT, unwaited): it is raised to it.
if ARGV[10] == redis.call('GET', K_EPOCH) then raise_released(tonumber(ARGV[12] or '0')) end
local epoch, head, refusal, since = check_since(ARGV[5], ARGV[10], tonumber(ARGV[9]))
if refusal ~= '' or since == head then return {epoch, head, refusal, since} end
if not kept_after(since) then return {epoch, head, 'history trimmed', since} end
local out = {epoch, head, '', since}
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '0-' .. head, 'COUNT', tonumber(ARGV[11]))
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,
  },

  /** KEYS 1-8: stream. ARGV 1-8: streamArgs(); 9: how many lines (at most HISTORY_ON_JOIN). Returns {epoch, head, lines (oldest first)...}. */
  sbRecent: {
    keys: 8,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
local head = visible_head()
local out = {epoch, head}
local count = math.min(tonumber(ARGV[9]), tonumber(ARGV[6]))
if count > 0 then
  -- Lines not released yet are left out (the list keeps the newest first).
  local lines = redis.call('LRANGE', K_RECENT, 0, -1)
  local kept = {}
  for i = 1, #lines do
    if #kept == count then break end
    if tonumber(string.match(lines[i], '^{"seq":(%d+),')) <= head then kept[#kept + 1] = lines[i] end
  end
  for i = #kept, 1, -1 do out[#out + 1] = kept[i] end
end
return out`,
  },

  /**
   * KEYS 1-8: stream. ARGV 1-8: streamArgs(); 9: the stale epoch; 10: the last
   * seq known to agree with what the nodes passed on (at most the head). Replaces
   * the epoch only if it is still the stale one, KEEPING the history: its events
   * (and recent lines) are relabelled with the new epoch and keep their seq, and
   * the stale epoch is listed among the kept ones (at most 4). Returns {epoch, seq}.
   */
  sbRenewEpoch: {
    keys: 8,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
local head = visible_head()
if epoch == ARGV[9] then
  local from, to = '"epoch":"' .. epoch .. '"', '"epoch":"' .. ARGV[5] .. '"'
  local function relabel(event)
    local i, j = string.find(event, from, 1, true)
    if not i then return event end
    return string.sub(event, 1, i - 1) .. to .. string.sub(event, j + 1)
  end
  local entries = redis.call('XRANGE', K_HISTORY, '-', '+')
  if #entries > 0 then
    local ttl = redis.call('PTTL', K_HISTORY)
    redis.call('DEL', K_HISTORY)
    local bytes = 0
    for i = 1, #entries do
      local fields = entries[i][2]
      local event = relabel(fields[4])
      bytes = bytes + #event
      redis.call('XADD', K_HISTORY, entries[i][1], 't', fields[2], 'e', event)
    end
    if ttl > 0 then redis.call('PEXPIRE', K_HISTORY, ttl) end
    redis.call('SET', K_BYTES, bytes, 'KEEPTTL')
  end
  local lines = redis.call('LRANGE', K_RECENT, 0, -1)
  if #lines > 0 then
    local ttl = redis.call('PTTL', K_RECENT)
    redis.call('DEL', K_RECENT)
    for i = 1, #lines do redis.call('RPUSH', K_RECENT, relabel(lines[i])) end
    if ttl > 0 then redis.call('PEXPIRE', K_RECENT, ttl) end
  end
  local agreed = math.max(0, math.min(tonumber(ARGV[10]), head))
  redis.call('LPUSH', K_EPOCHS, epoch .. ':' .. agreed)
  redis.call('LTRIM', K_EPOCHS, 0, 3)
  local ttl = redis.call('PTTL', K_EPOCH)
  if ttl > 0 then redis.call('PEXPIRE', K_EPOCHS, ttl) end
  epoch = ARGV[5]
  redis.call('SET', K_EPOCH, epoch, 'KEEPTTL')
end
return {epoch, head}`,
  },

  /**
   * KEYS 1-8: stream. ARGV 1-8: streamArgs(). Renews the room's keys (those that
   * exist; it creates none): a room no node serves forgets them ARGV[7] ms (no
   * chat line) or ARGV[8] ms (chat lines) after this was last run for it. The
   * nodes that serve a room run it every keepAliveIntervalMs() and when they
   * leave it (RedisBus), so rooms that come and go leave nothing behind.
   */
  sbKeepAlive: {
    keys: 8,
    lua: `${LUA_LIBRARY}
expire_room(room_ttl())
return 1`,
  },

  /** KEYS 1-8: stream. ARGV 1-8: streamArgs(). Returns {epoch, seq} (the released seq: see visible_head). */
  sbHead: {
    keys: 8,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[5])
return {epoch, visible_head()}`,
  },

  /**
   * KEYS 1-8: stream. ARGV 1-8: streamArgs(); 9: seq; 10: the event's JSON. Publishes a
   * stored event once the replicas have it (RedisBus), and lets readers see the
   * history up to it: only if the history holds that very event there (a failover
   * to a replica that lacked it, or a new epoch since, would make it another).
   * Returns 1, or 0 when it did not.
   */
  sbRelease: {
    keys: 8,
    lua: `${LUA_LIBRARY}
local seq = tonumber(ARGV[9])
if event_at(seq) ~= ARGV[10] then return 0 end
-- A retried event (ARGV[11] '1') at or below the released seq is readable already: published
-- then, or read by any node that hears a later one (gap repair). Broadcast it again only if not.
if ARGV[11] == '1' and seq <= tonumber(redis.call('GET', K_RELEASED) or '0') then return 1 end
release(seq, ARGV[10])
return 1`,
  },
} as const;

export type BusScriptName = keyof typeof BUS_SCRIPTS;

/** Runs one of BUS_SCRIPTS (defined on the connection with defineScripts). */
export const runBusScript = scriptRunner(BUS_SCRIPTS);

/** Runs one of BUS_SCRIPTS, then WAIT for replicas right behind it (see scriptThenWait). */
export const runBusScriptThenWait = scriptThenWait(BUS_SCRIPTS);

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

import { LUA_LIBRARY } from './lua-library.js';

/**
 * The bus's scripts: publishing (with ref de-duplication), reading the history,
 * the head, and starting a new epoch. See lua-library.ts for the conventions.
 */
export const BUS_SCRIPTS = {
  /**
   * KEYS 1-5: stream; 6: the client's refs zset. ARGV 1-5: publishArgs(); 6: body
   * (event JSON without its opening brace); 7: ref or ''; 8: most refs kept per client.
   * Returns {seq, epoch, duplicate}.
   */
  sbPublish: {
    keys: 6,
    lua: `${LUA_LIBRARY}
local K_REFS = KEYS[6]
local ref = ARGV[7]
if ref ~= '' then
  local prev = redis.call('ZSCORE', K_REFS, ref)
  if prev then return {tonumber(prev), ensure_epoch(ARGV[5]), 1} end
end
local seq, epoch = publish(ARGV[6])
if ref ~= '' then
  redis.call('ZADD', K_REFS, seq, ref)
  redis.call('ZREMRANGEBYRANK', K_REFS, 0, -1 - tonumber(ARGV[8]))
  redis.call('PEXPIRE', K_REFS, ARGV[3])
end
return {seq, epoch, 0}`,
  },

  /**
   * KEYS 1-5: stream. ARGV 1-5: publishArgs(); 6: since seq; 7: since epoch; 8: most
   * events; 9: most bytes. Trims first, as publishing does. Returns {epoch, head,
   * reason, events...}; with `reason` '' the events after `since`, all of them.
   */
  sbHistory: {
    keys: 5,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[6])
local epoch, head, refusal = check_since(ARGV[5], ARGV[7], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if head - since > tonumber(ARGV[8]) then return {epoch, head, 'too far behind'} end
trim()
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local max_bytes, bytes = tonumber(ARGV[9]), 0
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
   * KEYS 1-4: history. ARGV 1: since seq; 2: since epoch; 3: a candidate epoch; 4: most
   * events. Up to that many events after `since` (a page, for gap repair). Returns
   * {epoch, head, reason, events...}.
   */
  sbHistoryPage: {
    keys: 4,
    lua: `${LUA_LIBRARY}
local since = tonumber(ARGV[1])
local epoch, head, refusal = check_since(ARGV[3], ARGV[2], since)
if refusal ~= '' or since == head then return {epoch, head, refusal} end
if not kept_after(since) then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '+', 'COUNT', tonumber(ARGV[4]))
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,
  },

  /** KEYS 1-4: history. ARGV 1: the stale epoch; 2: a new epoch. Replaces the epoch (and empties the history) only if it is still the stale one. Returns {epoch, seq}. */
  sbRenewEpoch: {
    keys: 4,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[2])
if epoch == ARGV[1] then
  epoch = ARGV[2]
  reset_history(epoch)
end
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },

  /** KEYS 1-4: history. ARGV 1: candidate epoch. Returns {epoch, seq}. */
  sbHead: {
    keys: 4,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[1])
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },
} as const;

import { LUA_LIBRARY } from './lua-library.js';

/**
 * The bus's scripts: publishing (with ref de-duplication), reading the history,
 * the head, and starting a new epoch. See lua-library.ts for the conventions.
 */
export const BUS_SCRIPTS = {
  /**
   * KEYS 1-4: stream; 5: the client's refs zset. ARGV 1-4: publishArgs(); 5: body
   * (event JSON without its opening brace); 6: ref or ''; 7: most refs kept per client.
   * Returns {seq, epoch, duplicate}.
   */
  sbPublish: {
    keys: 5,
    lua: `${LUA_LIBRARY}
local K_REFS = KEYS[5]
local ref = ARGV[6]
if ref ~= '' then
  local prev = redis.call('ZSCORE', K_REFS, ref)
  if prev then return {tonumber(prev), ensure_epoch(ARGV[4]), 1} end
end
local seq, epoch = publish(ARGV[5])
if ref ~= '' then
  redis.call('ZADD', K_REFS, seq, ref)
  redis.call('ZREMRANGEBYRANK', K_REFS, 0, -1 - tonumber(ARGV[7]))
  redis.call('PEXPIRE', K_REFS, ARGV[3])
end
return {seq, epoch, 0}`,
  },

  /**
   * KEYS 1-4: stream. ARGV 1-4: publishArgs(); 5: since seq; 6: since epoch; 7: most events.
   * Trims by age first, as publishing does. Returns {epoch, head, reason, events...}.
   */
  sbHistory: {
    keys: 4,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[4])
local head = tonumber(redis.call('GET', K_SEQ) or '0')
local since = tonumber(ARGV[5])
if epoch ~= ARGV[6] then return {epoch, head, 'epoch changed'} end
if since > head then return {epoch, head, 'position is ahead of the history'} end
if since == head then return {epoch, head, ''} end
if head - since > tonumber(ARGV[7]) then return {epoch, head, 'too far behind'} end
trim_by_age()
local first = redis.call('XRANGE', K_HISTORY, '-', '+', 'COUNT', 1)
if #first == 0 then return {epoch, head, 'history trimmed'} end
local oldest = tonumber(string.match(first[1][1], '^0%-(%d+)$'))
if oldest > since + 1 then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local entries = redis.call('XRANGE', K_HISTORY, '(0-' .. since, '+')
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,
  },

  /** KEYS 1-3: epoch, seq, history. ARGV 1: the stale epoch; 2: a new epoch. Replaces the epoch (and empties the history) only if it is still the stale one. Returns {epoch, seq}. */
  sbRenewEpoch: {
    keys: 3,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[2])
if epoch == ARGV[1] then
  epoch = ARGV[2]
  redis.call('SET', K_EPOCH, epoch)
  redis.call('DEL', K_SEQ, K_HISTORY)
end
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },

  /** KEYS 1-3: epoch, seq, history. ARGV 1: candidate epoch. Returns {epoch, seq}. */
  sbHead: {
    keys: 3,
    lua: `${LUA_LIBRARY}
local epoch = ensure_epoch(ARGV[1])
return {epoch, tonumber(redis.call('GET', K_SEQ) or '0')}`,
  },
} as const;

import { LUA_LIBRARY } from './lua-library.js';

/**
 * The session registry's scripts. Ending a session and announcing its
 * disconnect happen in one script, so the notice is published exactly once
 * however many nodes sweep. Scripts that end sessions are publishing scripts
 * (see lua-library.ts); the others take their keys from KEYS[1].
 *
 * `P` (an ARGV) is the key prefix, for the keys named by data the script reads
 * (`node-sessions:<node>` of the node that holds a session; the nodes to sweep).
 */
const SESSION_LIBRARY = `
local function node_sessions(P, node) return P .. ':node-sessions:' .. node end

-- Remember who an ended v2 session was, as long as the history (ARGV[3]): a client
-- that comes back with its old token gets its old id, so its refs stay de-duplicated.
-- A seed-protocol session (grace 0) has no token to come back with: nothing to keep.
local function bury(tomb, grace, id, nickname)
  if tonumber(grace or '0') <= 0 then return end
  redis.call('HSET', tomb, 'id', id, 'nickname', nickname)
  redis.call('PEXPIRE', tomb, ARGV[3])
end
`;

export const SESSION_SCRIPTS = {
  /**
   * KEYS 1: session; 2: detached; 3: this node's sessions. ARGV 1: prefix; 2: token;
   * 3: id; 4: nickname; 5: node; 6: conn; 7: grace ms; 8: bye (the disconnect notice);
   * 9, 10: the epoch and seq where it began. Registers (or re-registers) a live
   * session. Returns 1 if it existed, 0 if not.
   */
  sbSessionCreate: {
    keys: 3,
    lua: `${SESSION_LIBRARY}
local existed = redis.call('EXISTS', KEYS[1])
local old = redis.call('HGET', KEYS[1], 'node')
if old and old ~= ARGV[5] then redis.call('SREM', node_sessions(ARGV[1], old), ARGV[2]) end
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'nickname', ARGV[4], 'node', ARGV[5], 'conn', ARGV[6], 'grace', ARGV[7], 'bye', ARGV[8], 'se', ARGV[9], 'ss', ARGV[10])
redis.call('PERSIST', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
return existed`,
  },

  /**
   * KEYS 1: session; 2: tomb; 3: detached; 4: this node's sessions. ARGV 1: prefix;
   * 2: token; 3: node; 4: conn. Moves a live session to this connection: {id,
   * nickname, 'live', start epoch, start seq, holder node, holder conn ('' when
   * none held it)}. For a session that has ended: {id, nickname, 'ended'} (once).
   * Unknown token: nil.
   */
  sbSessionResume: {
    keys: 4,
    lua: `${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[1], 'id', 'nickname', 'node', 'conn', 'se', 'ss')
if not s[1] then
  local t = redis.call('HMGET', KEYS[2], 'id', 'nickname')
  if not t[1] then return false end
  redis.call('DEL', KEYS[2])
  return {t[1], t[2], 'ended'}
end
if s[3] and s[3] ~= ARGV[3] then redis.call('SREM', node_sessions(ARGV[1], s[3]), ARGV[2]) end
redis.call('HSET', KEYS[1], 'node', ARGV[3], 'conn', ARGV[4])
redis.call('PERSIST', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[2])
return {s[1], s[2], 'live', s[5] or '', s[6] or '0', s[3] or '', s[4] or ''}`,
  },

  /** KEYS 1: session. ARGV 1: nickname; 2: bye (the disconnect notice with the new name). */
  sbSessionRename: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'nickname', ARGV[1], 'bye', ARGV[2]) end
return 1`,
  },

  /**
   * KEYS 1: session; 2: detached. ARGV 1: prefix; 2: token; 3: conn; 4: now; 5: extra ttl ms.
   * Starts the grace period if `conn` still holds the session.
   */
  sbSessionDetach: {
    keys: 2,
    lua: `${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[1], 'conn', 'node', 'grace')
if s[1] ~= ARGV[3] then return 0 end
redis.call('SREM', node_sessions(ARGV[1], s[2]), ARGV[2])
redis.call('HSET', KEYS[1], 'conn', '')
local grace = tonumber(s[3] or '0')
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + grace, ARGV[2])
redis.call('PEXPIRE', KEYS[1], grace + tonumber(ARGV[5]))
return 1`,
  },

  /**
   * KEYS 1-5: stream; 6: session; 7: detached; 8: tomb. ARGV 1-5: publishArgs();
   * 6: prefix; 7: token; 8: conn; 9: '1' to announce. Ends the session now (and
   * announces it), if `conn` still holds it.
   */
  sbSessionEnd: {
    keys: 8,
    lua: `${LUA_LIBRARY}${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[6], 'conn', 'node', 'id', 'nickname', 'grace', 'bye')
if not s[3] or s[1] ~= ARGV[8] then return 0 end
redis.call('DEL', KEYS[6])
redis.call('SREM', node_sessions(ARGV[6], s[2]), ARGV[7])
redis.call('ZREM', KEYS[7], ARGV[7])
bury(KEYS[8], s[5], s[3], s[4])
if ARGV[9] == '1' then announce(s[6]) end
return 1`,
  },

  /**
   * KEYS 1-5: stream; 6: nodes; 7: detached. ARGV 1-5: publishArgs(); 6: prefix;
   * 7: this node; 8: most sessions to end; 9: extra ttl ms; 10...: the nodes found
   * dead (lease expired and no connection left to Redis). Detaches the sessions
   * of those of them whose lease is still expired, then ends (and announces, once)
   * every session whose grace is over. Returns {reaped, ended}.
   */
  sbSweep: {
    keys: 7,
    lua: `${LUA_LIBRARY}${SESSION_LIBRARY}
local P, now = ARGV[6], tonumber(ARGV[1])
local reaped = 0
for i = 10, #ARGV do
  local node = ARGV[i]
  if node ~= ARGV[7] and redis.call('SISMEMBER', KEYS[6], node) == 1 and redis.call('EXISTS', P .. ':lease:' .. node) == 0 then
    local set = node_sessions(P, node)
    for _, token in ipairs(redis.call('SMEMBERS', set)) do
      local key = P .. ':session:' .. token
      local grace = tonumber(redis.call('HGET', key, 'grace') or '0')
      redis.call('HSET', key, 'conn', '')
      redis.call('PEXPIRE', key, grace + tonumber(ARGV[9]))
      redis.call('ZADD', KEYS[7], now + grace, token)
      reaped = reaped + 1
    end
    redis.call('DEL', set)
    redis.call('SREM', KEYS[6], node)
  end
end
local ended = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, tonumber(ARGV[8]))) do
  redis.call('ZREM', KEYS[7], token)
  local key = P .. ':session:' .. token
  local s = redis.call('HMGET', key, 'id', 'nickname', 'grace', 'bye')
  redis.call('DEL', key)
  if s[1] then
    bury(P .. ':tomb:' .. token, s[3], s[1], s[2])
    announce(s[4])
    ended = ended + 1
  end
end
return {reaped, ended}`,
  },
} as const;

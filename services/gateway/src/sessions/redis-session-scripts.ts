/**
 * The session registry's scripts, all on the `{P}` slot (sessions, presence,
 * nicknames, nodes): each change of a session, of who is in which room and of
 * who holds which name is one atomic script.
 *
 * Presence notices (connected, disconnected, joined, left) belong to rooms,
 * whose streams live on other slots, so a script cannot publish them itself.
 * Instead it decides them atomically with the change and writes them to the
 * outbox (`{P}:outbox`, scored by time); the node then publishes them, each with
 * a `once` key of its own (`p:<registration>:<event>[:<n>]`), and removes them. A node that dies
 * in between leaves them in the outbox, and a sweeper publishes them later: the
 * once key makes a second publish a no-op, so every notice is published exactly once.
 * A room with more than PRESENCE_NOTICE_LIMIT members gets no notice per
 * person: the script counts the coming or going in `{P}:summary` instead, and a
 * sweeper publishes the sums now and then (one node per
 * PRESENCE_SUMMARY_INTERVAL_MS, whichever takes the turn). So does a move (a
 * `joined` or `left`) past the room's budget of such notices: a token bucket per
 * room (JOIN_NOTICE_RATE_PER_SEC, JOIN_NOTICE_BURST) in
 * `{P}:join-notices:<room>`, taken in the same script as the move, so that
 * however many clients flap between rooms, each room hears a bounded number of
 * notices a second. A notice that is decided is published exactly once and in
 * order, as any other; one over the budget is only counted.
 *
 * `P` (an ARGV) is the tag-prefixed `{prefix}`, for keys named by data the
 * script reads (the node that holds a session, the room it is in).
 */
const SESSION_LIBRARY = `
local P = ARGV[1]
local function node_sessions(node) return P .. ':node-sessions:' .. node end
local function members(room) return P .. ':members:' .. room end

-- Whether \`room\` may hear one more joined/left notice at \`now\` (ms): takes a token
-- of its bucket (rate a second, burst at most). The bucket is a hash {tokens, at}
-- that expires when it would be full again: no key is a full bucket, and a room
-- left alone costs nothing. A clock behind \`at\` (another node's) refills nothing.
local function move_budget(room, now, rate, burst)
  local key = P .. ':join-notices:' .. room
  now, rate, burst = tonumber(now), tonumber(rate), tonumber(burst)
  local tokens, at = burst, now
  local b = redis.call('HMGET', key, 'tokens', 'at')
  if b[1] then
    tokens, at = tonumber(b[1]), tonumber(b[2])
    if now > at then
      tokens = math.min(burst, tokens + (now - at) * rate / 1000)
      at = now
    end
  end
  if tokens < 1 then return false end
  tokens = tokens - 1
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(at))
  redis.call('PEXPIRE', key, math.max(1, math.ceil((burst - tokens) * 1000 / rate)))
  return true
end

-- A presence notice for the outbox; or a count for the summary, in a crowded room
-- (more than \`limit\` members) or for a move past the room's budget (\`budget\`:
-- {rate, burst} for a joined or left notice, nil for the others). A room nobody
-- is in any more (its last member just left) spends no budget: nobody hears it.
-- Returns the outbox entry, or '' when there is none.
local function notice(room, event, id, nickname, ref, now, limit, budget)
  local present = redis.call('HLEN', members(room))
  local count = present
  if event == 'left' or event == 'disconnected' then count = count + 1 end
  if count > tonumber(limit) or (budget and present > 0 and not move_budget(room, now, budget[1], budget[2])) then
    local kind = 'joined'
    if event == 'left' or event == 'disconnected' then kind = 'left' end
    redis.call('HINCRBY', P .. ':summary', room .. '\\n' .. kind, 1)
    return ''
  end
  local entry = cjson.encode({room = room, event = event, id = id, nickname = nickname, ref = ref, time = tonumber(now)})
  redis.call('ZADD', P .. ':outbox', now, entry)
  return entry
end

local function enter(room, token, id, nickname)
  if redis.call('HSET', members(room), token, cjson.encode({id = id, nickname = nickname})) == 1 then
    redis.call('ZINCRBY', P .. ':rooms', 1, room)
  end
end

local function leave(room, token)
  if redis.call('HDEL', members(room), token) == 1 then
    if tonumber(redis.call('ZINCRBY', P .. ':rooms', -1, room)) <= 0 then redis.call('ZREM', P .. ':rooms', room) end
  end
end

-- Whether a new member may enter \`room\`: it has people already, it is the exempt
-- room (the lobby), or the cluster has fewer rooms than max_rooms.
local function room_allowed(room, max_rooms, exempt)
  if room == exempt or redis.call('ZSCORE', P .. ':rooms', room) then return true end
  return redis.call('ZCARD', P .. ':rooms') < tonumber(max_rooms)
end

-- A name's keys come as one string, one a line (sessions/nickname-keys.ts). The first
-- is its lowercase, the only key of nodes from before look-alike names counted: they
-- read and release a session's 'nkey' alone. 'nkeys' holds all of them, the first
-- included, so that a rename by such a node (which changes 'nkey' only) shows them stale.
local function lines(text)
  local out = {}
  for line in string.gmatch(text or '', '[^\\n]+') do out[#out + 1] = line end
  return out
end

-- A holder is a session's token, or (identity on) 'u:' .. its user: the sessions of
-- one user share their name. Such a user's sessions that hold a name are the set
-- {P}:user-names:<user>; each session's own 'nkey'/'nkeys' say which keys it holds.
local function holder_of(token, user)
  if user and user ~= '' then return 'u:' .. user end
  return token
end

local function is_user(holder) return string.sub(holder, 1, 2) == 'u:' end

local function user_sessions(holder) return P .. ':user-names:' .. string.sub(holder, 3) end

-- Whether the session hash fields nkey (s1) and nkeys (s2) hold nickname key k.
local function session_holds(s1, s2, k)
  if not s1 then return false end
  if s1 == k then return true end
  local held = lines(s2)
  if held[1] ~= s1 then return false end
  for i = 2, #held do if held[i] == k then return true end end
  return false
end

-- The user's sessions that still exist, each {nkey, nkeys}. A member of the set whose
-- session is gone (its key expired before a sweep ended it, its node killed) is dropped.
local function user_session_keys(holder)
  local set, user = user_sessions(holder), string.sub(holder, 3)
  local found = {}
  for _, t in ipairs(redis.call('SMEMBERS', set)) do
    local s = redis.call('HMGET', P .. ':session:' .. t, 'nkey', 'nkeys', 'user')
    if s[3] == user then found[#found + 1] = s else redis.call('SREM', set, t) end
  end
  return found
end

-- The user's set lives as long as the longest-lived of its sessions' keys: no TTL
-- while one is live (its key has none), else the longest TTL of those waiting for a
-- resume; gone sessions leave it. So it never outlives the sessions it names.
local function user_ttl(holder)
  local set = user_sessions(holder)
  local longest = 0
  for _, t in ipairs(redis.call('SMEMBERS', set)) do
    local ttl = redis.call('PTTL', P .. ':session:' .. t)
    if ttl == -1 then
      redis.call('PERSIST', set)
      return
    end
    if ttl == -2 then redis.call('SREM', set, t) elseif ttl > longest then longest = ttl end
  end
  if longest > 0 then redis.call('PEXPIRE', set, longest) end
end

-- Whether holder (a session's token, or a user) holds nickname key k. An entry of
-- nicks whose session is gone (ended by an older node, or its key expired before a
-- sweep ended it), or now holds other keys, holds nothing; so does a user none of
-- whose sessions is left.
local function holds(holder, k)
  if is_user(holder) then
    for _, s in ipairs(user_session_keys(holder)) do
      if session_holds(s[1], s[2], k) then return true end
    end
    return false
  end
  local s = redis.call('HMGET', P .. ':session:' .. holder, 'nkey', 'nkeys')
  return session_holds(s[1], s[2], k)
end

-- Whether a session other than \`token\` holds one of \`keys\` (a name's, one a line).
local function nick_taken(keys, token)
  for _, k in ipairs(lines(keys)) do
    local holder = redis.call('HGET', P .. ':nicks', k)
    if holder and holder ~= token and holds(holder, k) then return true end
  end
  return false
end

-- Milliseconds as a string of digits (what a hash field keeps).
local function ms(n) return string.format('%d', n) end

-- When a live connection last held a session (its 'live' field), once the
-- connection that held it since \`since\` lets go of it at \`now\`: if it held it at
-- least live_ms (RESUME_LIVE_MS), or half its grace if that is shorter, it was
-- live, and the clock moves to now. A session registered before these fields
-- existed counts as live.
local function live_after(since, live, now, live_ms, grace)
  since, live = tonumber(since or ''), tonumber(live or '')
  local needed = math.min(tonumber(live_ms), (tonumber(grace) or 0) / 2)
  if not since or not live or now - since >= needed then return now end
  return live
end

-- The session (key) waits for a resume from now: until one grace after its last
-- live connection. \`dropped\`: the connection whose drop left it waiting ('' when
-- its node died). Returns when its wait ends.
local function wait_for_resume(key, token, now, live, grace, dropped, margin)
  local deadline = live + grace
  redis.call('HSET', key, 'conn', '', 'dropped', dropped, 'live', ms(live))
  redis.call('ZADD', P .. ':detached', ms(deadline), token)
  redis.call('PEXPIRE', key, ms(math.max(deadline - now, 0) + tonumber(margin)))
  local user = redis.call('HGET', key, 'user')
  if user then user_ttl('u:' .. user) end
  return deadline
end

local function release_nick(nkey, token)
  if nkey and redis.call('HGET', P .. ':nicks', nkey) == token then redis.call('HDEL', P .. ':nicks', nkey) end
end

-- Release what session \`token\` held as \`holder\` (itself, or its user): its 'nkey'
-- and its 'nkeys'; a user's key only once none of its other sessions holds it.
local function release_nicks(holder, token, nkey, nkeys)
  if is_user(holder) then
    redis.call('SREM', user_sessions(holder), token)
    local others = user_session_keys(holder)
    for _, k in ipairs(lines(nkeys)) do
      local kept = false
      for _, s in ipairs(others) do if session_holds(s[1], s[2], k) then kept = true end end
      if not kept then release_nick(k, holder) end
    end
    user_ttl(holder)
    return
  end
  release_nick(nkey, holder)
  for _, k in ipairs(lines(nkeys)) do release_nick(k, holder) end
end

-- Give session \`token\` (its hash at \`key\`), as \`holder\`, the name whose keys (one a line) are \`keys\`.
local function hold_nicks(key, holder, token, keys)
  local list = lines(keys)
  for _, k in ipairs(list) do redis.call('HSET', P .. ':nicks', k, holder) end
  redis.call('HSET', key, 'nkey', list[1], 'nkeys', keys)
  if is_user(holder) then
    redis.call('SADD', user_sessions(holder), token)
    user_ttl(holder)
  end
end

-- End a session now: out of its room, its name released, remembered (v2: a tomb
-- for tomb_ttl ms) and, if asked, its disconnect decided. Returns the notice entry or ''.
local function finish(token, announce, now, limit, tomb_ttl)
  local key = P .. ':session:' .. token
  local s = redis.call('HMGET', key, 'id', 'nickname', 'node', 'grace', 'room', 'nkey', 'inc', 'nkeys', 'live', 'user')
  if not s[1] then return '' end
  redis.call('DEL', key)
  if s[3] then redis.call('SREM', node_sessions(s[3]), token) end
  redis.call('ZREM', P .. ':detached', token)
  release_nicks(holder_of(token, s[10]), token, s[6], s[8])
  local room = s[5] or 'lobby'
  leave(room, token)
  local entry = ''
  if announce then entry = notice(room, 'disconnected', s[1], s[2], 'p:' .. (s[7] or token) .. ':disconnected', now, limit) end
  if tonumber(s[4] or '0') > 0 then
    local tomb = P .. ':tomb:' .. token
    redis.call('HSET', tomb, 'id', s[1], 'nickname', s[2], 'live', s[9] or ms(now))
    if s[10] then redis.call('HSET', tomb, 'user', s[10]) end
    redis.call('PEXPIRE', tomb, tomb_ttl)
  end
  return entry
end
`;

export const SESSION_SCRIPTS = {
  /**
   * KEYS 1: session; 2: nicks. ARGV 1: P; 2: token; 3: id; 4: nickname; 5: its
   * keys, one a line (nickname-keys.ts); 6: node; 7: conn; 8: grace ms; 9, 10: the epoch and seq where it began;
   * 11: room; 12: now; 13: most rooms; 14: the room exempt from it; 15: presence
   * notice limit; 16: when to announce it connected: 'always', 'if-ended' (only if
   * the session had ended: a node taken for dead registering its clients again) or
   * 'never'; 17: this registration's id
   * (names its notices' once keys: never the token, a secret); 18: when a live
   * connection last held it (ms; '' for now: SessionInfo.liveAt); 19: its user
   * (SessionInfo.user; '' for none).
   * Registers (or registers again) a live session, in its room, holding its name.
   * Returns {'ok', existed (1/0), notice entry or ''}, or {'nick-taken'} / {'room-limit'}.
   */
  sbSessionCreate: {
    keys: 2,
    lua: `${SESSION_LIBRARY}
local key, token, room = KEYS[1], ARGV[2], ARGV[11]
local holder = holder_of(token, ARGV[19])
if nick_taken(ARGV[5], holder) then return {'nick-taken'} end
local existed = redis.call('EXISTS', key)
local old = redis.call('HMGET', key, 'node', 'room', 'nkey', 'nkeys', 'user')
if old[2] ~= room and not room_allowed(room, ARGV[13], ARGV[14]) then return {'room-limit'} end
if old[1] and old[1] ~= ARGV[6] then redis.call('SREM', node_sessions(old[1]), token) end
if old[2] and old[2] ~= room then leave(old[2], token) end
release_nicks(holder_of(token, old[5]), token, old[3], old[4])
hold_nicks(key, holder, token, ARGV[5])
local live = ARGV[18]
if live == '' then live = ARGV[12] end
redis.call('HSET', key, 'id', ARGV[3], 'nickname', ARGV[4], 'node', ARGV[6], 'conn', ARGV[7],
  'grace', ARGV[8], 'se', ARGV[9], 'ss', ARGV[10], 'room', room, 'inc', ARGV[17], 'moves', 0, 'since', ARGV[12], 'live', live)
if ARGV[19] ~= '' then redis.call('HSET', key, 'user', ARGV[19]) else redis.call('HDEL', key, 'user') end
redis.call('HDEL', key, 'dropped')
redis.call('PERSIST', key)
if is_user(holder) then user_ttl(holder) end
redis.call('ZREM', P .. ':detached', token)
redis.call('SADD', node_sessions(ARGV[6]), token)
enter(room, token, ARGV[3], ARGV[4])
local entry = ''
if ARGV[16] == 'always' or (ARGV[16] == 'if-ended' and existed == 0) then entry = notice(room, 'connected', ARGV[3], ARGV[4], 'p:' .. ARGV[17] .. ':connected', ARGV[12], ARGV[15]) end
return {'ok', existed, entry}`,
  },

  /**
   * KEYS 1: session; 2: tomb. ARGV 1: P; 2: token; 3: node; 4: conn; 5: now; 6:
   * RESUME_LIVE_MS; 7: presence notice limit; 8: tomb ttl ms; 9: extra ttl ms;
   * 10: the resuming user ('' for none): a session (or tomb) of another user is
   * answered as unknown (nil), and nothing changes.
   * Moves a live session to this connection: {id, nickname, 'live', start epoch,
   * start seq, holder node, holder conn ('' when none held it), room}. The
   * connection that held it (if one did) lets go of it (see live_after); one
   * that waited for a resume after a drop on another node is named to that node
   * (`{P}:resumed-from:<node>`: it stops counting it). For a session that has
   * ended: {id, nickname, 'ended', live, ''} (once). A session whose wait ended
   * (and that no sweep has ended yet) is ended now, its disconnect decided:
   * {id, nickname, 'ended', live, notice entry}. Unknown token: nil.
   */
  sbSessionResume: {
    keys: 2,
    lua: `${SESSION_LIBRARY}
local token, now = ARGV[2], tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'id', 'nickname', 'node', 'conn', 'se', 'ss', 'room', 'since', 'live', 'grace', 'user')
if s[1] and (s[11] or '') ~= ARGV[10] then return false end
if not s[1] then
  local t = redis.call('HMGET', KEYS[2], 'id', 'nickname', 'live', 'user')
  if not t[1] then return false end
  if (t[4] or '') ~= ARGV[10] then return false end
  redis.call('DEL', KEYS[2])
  return {t[1], t[2], 'ended', t[3] or '', ''}
end
local live = s[9]
if s[4] == '' then
  local deadline = redis.call('ZSCORE', P .. ':detached', token)
  if deadline and tonumber(deadline) <= now then
    local entry = finish(token, true, now, ARGV[7], ARGV[8])
    redis.call('DEL', KEYS[2])
    return {s[1], s[2], 'ended', s[9] or '', entry}
  end
  if s[3] and s[3] ~= ARGV[3] then
    local moved = P .. ':resumed-from:' .. s[3]
    redis.call('SADD', moved, token)
    redis.call('PEXPIRE', moved, tonumber(s[10] or '0') + tonumber(ARGV[9]))
  end
else
  live = ms(live_after(s[8], s[9], now, ARGV[6], s[10]))
end
if s[3] and s[3] ~= ARGV[3] then redis.call('SREM', node_sessions(s[3]), token) end
redis.call('HSET', KEYS[1], 'node', ARGV[3], 'conn', ARGV[4], 'since', ARGV[5], 'live', live or ARGV[5])
redis.call('HDEL', KEYS[1], 'dropped')
redis.call('PERSIST', KEYS[1])
if s[11] then user_ttl('u:' .. s[11]) end
redis.call('ZREM', P .. ':detached', token)
redis.call('SADD', node_sessions(ARGV[3]), token)
return {s[1], s[2], 'live', s[5] or '', s[6] or '0', s[3] or '', s[4] or '', s[7] or 'lobby'}`,
  },

  /**
   * KEYS 1: session; 2: nicks. ARGV 1: P; 2: token; 3: nickname; 4: its keys, one
   * a line (nickname-keys.ts). Gives the session the name, if no other session
   * holds one of its keys (its old name is released). Returns 'ok', 'nick-taken' or 'gone'.
   */
  sbSessionRename: {
    keys: 2,
    lua: `${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[1], 'id', 'nkey', 'room', 'nkeys', 'user')
if not s[1] then return 'gone' end
local holder = holder_of(ARGV[2], s[5])
if nick_taken(ARGV[4], holder) then return 'nick-taken' end
release_nicks(holder, ARGV[2], s[2], s[4])
hold_nicks(KEYS[1], holder, ARGV[2], ARGV[4])
redis.call('HSET', KEYS[1], 'nickname', ARGV[3])
local room = s[3] or 'lobby'
if redis.call('HEXISTS', members(room), ARGV[2]) == 1 then
  redis.call('HSET', members(room), ARGV[2], cjson.encode({id = s[1], nickname = ARGV[3]}))
end
return 'ok'`,
  },

  /**
   * KEYS 1: session. ARGV 1: P; 2: token; 3: conn; 4: the room to join; 5: now;
   * 6: most rooms; 7: the room exempt from it; 8: presence notice limit; 9, 10:
   * each room's budget of joined/left notices (a second, at once). Moves the
   * session (if `conn` holds it) to the room. Returns {'ok', from, left entry,
   * joined entry} (an entry is '' when the move was counted for a summary
   * instead), or {'same'}, {'room-limit'}, {'not-held'}.
   */
  sbSessionJoin: {
    keys: 1,
    lua: `${SESSION_LIBRARY}
local token, to = ARGV[2], ARGV[4]
local s = redis.call('HMGET', KEYS[1], 'conn', 'id', 'nickname', 'room', 'inc')
if not s[2] or s[1] ~= ARGV[3] then return {'not-held'} end
local inc = s[5] or token
local from = s[4] or 'lobby'
if from == to then return {'same'} end
if not room_allowed(to, ARGV[6], ARGV[7]) then return {'room-limit'} end
local moves = redis.call('HINCRBY', KEYS[1], 'moves', 1)
local budget = {ARGV[9], ARGV[10]}
leave(from, token)
local left = notice(from, 'left', s[2], s[3], 'p:' .. inc .. ':left:' .. moves, ARGV[5], ARGV[8], budget)
enter(to, token, s[2], s[3])
local joined = notice(to, 'joined', s[2], s[3], 'p:' .. inc .. ':joined:' .. moves, ARGV[5], ARGV[8], budget)
redis.call('HSET', KEYS[1], 'room', to)
return {'ok', from, left, joined}`,
  },

  /**
   * KEYS 1: session. ARGV 1: P; 2: token; 3: conn; 4: now; 5: extra ttl ms; 6:
   * RESUME_LIVE_MS. Starts the grace period if `conn` still holds the session:
   * it waits for a resume until one grace after its last live connection (this
   * one, if it held it long enough: see live_after). Returns when its wait
   * ends (ms), or nil when `conn` did not hold it.
   */
  sbSessionDetach: {
    keys: 1,
    lua: `${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[1], 'conn', 'node', 'grace', 'since', 'live')
if s[1] ~= ARGV[3] then return false end
local now = tonumber(ARGV[4])
redis.call('SREM', node_sessions(s[2]), ARGV[2])
local live = live_after(s[4], s[5], now, ARGV[6], s[3])
return wait_for_resume(KEYS[1], ARGV[2], now, live, tonumber(s[3] or '0'), ARGV[3], ARGV[5])`,
  },

  /**
   * KEYS 1: session. ARGV 1: P; 2: token; 3: conn; 4: now; 5: presence notice
   * limit; 6: tomb ttl ms. Ends the session as if its grace had run out, if it
   * still waits for a resume since `conn` dropped. Returns the notice entry or ''.
   */
  sbSessionExpire: {
    keys: 1,
    lua: `${SESSION_LIBRARY}
local s = redis.call('HMGET', KEYS[1], 'conn', 'dropped')
if s[1] ~= '' or s[2] ~= ARGV[3] then return '' end
return finish(ARGV[2], true, ARGV[4], ARGV[5], ARGV[6])`,
  },

  /**
   * KEYS 1: session. ARGV 1: P; 2: token; 3: conn; 4: '1' to announce; 5: now;
   * 6: presence notice limit; 7: how long a tomb lasts, ms. Ends the session now,
   * if `conn` still holds it. Returns {ended (1/0), notice entry or ''}.
   */
  sbSessionEnd: {
    keys: 1,
    lua: `${SESSION_LIBRARY}
local conn = redis.call('HGET', KEYS[1], 'conn')
if conn ~= ARGV[3] then return {0, ''} end
return {1, finish(ARGV[2], ARGV[4] == '1', ARGV[5], ARGV[6], ARGV[7])}`,
  },

  /**
   * KEYS 1: nodes. ARGV 1: P; 2: this node; 3: now; 4: most sessions to end; 5:
   * extra ttl ms; 6: presence notice limit; 7: tomb ttl ms; 8: RESUME_LIVE_MS;
   * 9...: the nodes found dead (lease expired and no connection left to Redis).
   * Detaches the sessions of those of them whose lease is still expired (as if
   * their connections dropped now), then ends every session whose grace is
   * over. Returns {reaped, notice entries...}.
   */
  sbSweep: {
    keys: 1,
    lua: `${SESSION_LIBRARY}
local now = tonumber(ARGV[3])
local reaped = 0
for i = 9, #ARGV do
  local node = ARGV[i]
  if node ~= ARGV[2] and redis.call('SISMEMBER', KEYS[1], node) == 1 and redis.call('EXISTS', P .. ':lease:' .. node) == 0 then
    local set = node_sessions(node)
    for _, token in ipairs(redis.call('SMEMBERS', set)) do
      local key = P .. ':session:' .. token
      local s = redis.call('HMGET', key, 'grace', 'since', 'live')
      wait_for_resume(key, token, now, live_after(s[2], s[3], now, ARGV[8], s[1]), tonumber(s[1] or '0'), '', ARGV[5])
      reaped = reaped + 1
    end
    redis.call('DEL', set)
    redis.call('SREM', KEYS[1], node)
  end
end
local out = {reaped}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', P .. ':detached', '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  redis.call('ZREM', P .. ':detached', token)
  local entry = finish(token, true, ARGV[3], ARGV[6], ARGV[7])
  if entry ~= '' then out[#out + 1] = entry end
end
return out`,
  },

  /** KEYS 1: members of the room. ARGV 1: most to list. Returns {count, member JSON...}. */
  sbMembers: {
    keys: 1,
    lua: `
local count = redis.call('HLEN', KEYS[1])
local max = tonumber(ARGV[1])
local out = {count}
local cursor = '0'
repeat
  local page = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 100)
  cursor = page[1]
  for i = 2, #page[2], 2 do
    if #out > max then break end
    out[#out + 1] = page[2][i]
  end
until cursor == '0' or #out > max
return out`,
  },

  /** KEYS 1: outbox. ARGV 1: older than (ms since the epoch); 2: most entries. Returns entries the nodes that decided them did not publish. */
  sbOutboxStale: {
    keys: 1,
    lua: `return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))`,
  },

  /**
   * KEYS 1: this node's `{P}:resumed-from:<node>`. Takes (once) the tokens of
   * sessions that dropped on this node and were resumed on another. Returns them.
   */
  sbTakeResumedFrom: {
    keys: 1,
    lua: `
local all = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return all`,
  },

  /**
   * KEYS 1: summary; 2: summary turn. ARGV 1: the summary interval, ms. Takes the
   * summed comings and goings (once: whoever takes them publishes them), if no
   * node took them within the interval: the turn is a key that lives that long,
   * so the cluster publishes at most one summary per room per interval, however
   * many nodes sweep (and whatever their clocks say). Returns {field, count, ...},
   * or {} when it is not this node's turn.
   */
  sbTakeSummaries: {
    keys: 2,
    lua: `
if not redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[1]), 'NX') then return {} end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all`,
  },
} as const;

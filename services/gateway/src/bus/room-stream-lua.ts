/**
 * Lua shared by the scripts of a room's stream: giving an event its `seq`
 * happens together with storing it in the history and publishing it, in one
 * script, so a node that dies half-way cannot lose or double an event. Every
 * key of a room shares its hash tag, so each script runs on one shard.
 *
 * Conventions of a stream script:
 *   KEYS[1..8]  epoch, seq, history, history bytes, recent lines, channel, earlier epochs,
 *               released seq (RoomKeys.stream)
 *   ARGV[1..8]  now (ms), history max events, max age (ms), max bytes, a candidate epoch,
 *               recent lines kept (HISTORY_ON_JOIN), and how long an unused room's keys live:
 *               with no chat line (ROOM_TTL_MS), with chat lines (ROOM_HISTORY_TTL_MS)  (streamArgs)
 * Its own keys and arguments follow from KEYS[9] and ARGV[9].
 *
 * Publishing is in two phases when the shard has replicas to wait for: the
 * script stores the event and returns it unpublished; the bus then WAITs for the
 * replicas and only then publishes it (RedisBus, sbRelease), so nothing is seen
 * that a failover could still lose. With none to wait for, the script publishes
 * it itself. Readers see the history up to the released seq only (KEYS[8]: the
 * last seq published; every event up to it has reached the replicas): the head,
 * the events and the recent lines of an event stored but not (yet) released
 * stay hidden, so a catch-up or a resume never hands out an event before it is
 * safe (a room from before this key reads its seq).
 *
 * A new epoch started because the history went back in time (a failover to a
 * replica that lacked the last writes: sbRenewEpoch) KEEPS the history that
 * survived: its events are relabelled with the new epoch, keep their seq, and the
 * earlier epoch is listed (KEYS[7], newest first, \`<epoch>:<seq>\`: the last seq
 * of that epoch known to agree with what was kept), so refs published in it are
 * still found and a reader at a position in it is answered from the new history.
 * A history that was lost (ensure_epoch) lists none.
 *
 * Every key of a room expires: each is created with a TTL in the script that
 * creates it (SET ... PX for the epoch; the reply of INCR and LPUSH tells a new
 * key, with no extra round trip), and the nodes that serve the room renew them
 * all (sbKeepAlive). A room with no chat line in its epoch lives ARGV[7] ms past
 * its last renewal, one with chat lines ARGV[8] ms (its recent lines mark it).
 * The epoch never outlives the others (it is given its TTL first, and the others
 * theirs no earlier): a room whose epoch is gone starts a new one and clears the
 * rest (ensure_epoch), so a seq is never given out twice in one epoch.
 */
export const LUA_LIBRARY = `
local K_EPOCH, K_SEQ, K_HISTORY, K_BYTES, K_RECENT, K_CHANNEL, K_EPOCHS, K_RELEASED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local TTL_ROOM, TTL_HISTORY = ARGV[7], ARGV[8]

-- Renew every key of the room to live ttl ms from now, the epoch first.
local function expire_room(ttl)
  redis.call('PEXPIRE', K_EPOCH, ttl)
  redis.call('PEXPIRE', K_SEQ, ttl)
  redis.call('PEXPIRE', K_HISTORY, ttl)
  redis.call('PEXPIRE', K_BYTES, ttl)
  redis.call('PEXPIRE', K_RECENT, ttl)
  redis.call('PEXPIRE', K_EPOCHS, ttl)
  redis.call('PEXPIRE', K_RELEASED, ttl)
end

-- Forget the history: a new epoch starts from seq 0, as a room with no chat line.
local function reset_history(epoch)
  redis.call('SET', K_EPOCH, epoch, 'PX', TTL_ROOM)
  redis.call('DEL', K_SEQ, K_HISTORY, K_BYTES, K_RECENT, K_EPOCHS, K_RELEASED)
end

local function ensure_epoch(candidate)
  local epoch = redis.call('GET', K_EPOCH)
  if not epoch then
    epoch = candidate
    reset_history(epoch)
  end
  return epoch
end

-- Drop the oldest events while the history holds more than its bounds: events
-- (ARGV[2]), bytes (ARGV[4]) and, with by_age, age (ARGV[3], as of ARGV[1]). At
-- most 100 per call. Publishing checks the age every 16th event only (the oldest
-- events are read once per check; reading the history checks it every time).
local function trim(by_age)
  local count = redis.call('XLEN', K_HISTORY)
  local bytes = tonumber(redis.call('GET', K_BYTES) or '0')
  local max_events, max_bytes = tonumber(ARGV[2]), tonumber(ARGV[4])
  if not by_age and count <= max_events and bytes <= max_bytes then return end
  local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[3])
  if not by_age then cutoff = -1 end
  local dropped = 0
  for _ = 1, 100 do
    local first = redis.call('XRANGE', K_HISTORY, '-', '+', 'COUNT', 1)
    if #first == 0 then break end
    local fields = first[1][2]
    if count <= max_events and bytes <= max_bytes and tonumber(fields[2]) >= cutoff then break end
    redis.call('XDEL', K_HISTORY, first[1][1])
    count = count - 1
    bytes = bytes - #fields[4]
    dropped = dropped + 1
  end
  if dropped > 0 then
    if count <= 0 or bytes < 0 then bytes = 0 end
    redis.call('SET', K_BYTES, bytes, 'KEEPTTL')
  end
end

-- Publish a stored event, and let readers see the history up to it (never back).
local function release(seq, event)
  if seq > tonumber(redis.call('GET', K_RELEASED) or '0') then redis.call('SET', K_RELEASED, seq, 'KEEPTTL') end
  redis.call('SPUBLISH', K_CHANNEL, event)
end

-- Readers may see up to seq: an event at seq was heard live, so it was released, though the
-- mark of it did not reach this server (a promoted replica). Never past the room's seq, never back.
local function raise_released(seq)
  local released = redis.call('GET', K_RELEASED)
  if not released or seq <= tonumber(released) then return end
  seq = math.min(seq, tonumber(redis.call('GET', K_SEQ) or '0'))
  if seq > tonumber(released) then redis.call('SET', K_RELEASED, seq, 'KEEPTTL') end
end

-- The newest seq readers may see: the released one (the seq in a room from before it was kept).
-- Never past the room's seq: a Redis that lost its newest writes (a rewind) may have kept the mark.
local function visible_head()
  local seq = tonumber(redis.call('GET', K_SEQ) or '0')
  local released = redis.call('GET', K_RELEASED)
  if released then return math.min(tonumber(released), seq) end
  return seq
end

-- body: an event's JSON without its opening brace; chat: whether it is a chat
-- line (kept among the room's recent lines); now: whether to publish it here
-- (else the caller publishes it once replicas have it). Returns seq, epoch, event.
local function publish(body, chat, now)
  local epoch = ensure_epoch(ARGV[5])
  local seq = redis.call('INCR', K_SEQ)
  local event = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. body
  redis.call('XADD', K_HISTORY, '0-' .. seq, 't', ARGV[1], 'e', event)
  redis.call('INCRBY', K_BYTES, #event)
  if seq == 1 then
    -- The epoch's first event made its seq, history and bytes keys: they live as long as the epoch.
    redis.call('PEXPIRE', K_SEQ, TTL_ROOM)
    redis.call('PEXPIRE', K_HISTORY, TTL_ROOM)
    redis.call('PEXPIRE', K_BYTES, TTL_ROOM)
    redis.call('SET', K_RELEASED, 0, 'PX', TTL_ROOM)
  end
  trim(seq % 16 == 0)
  if chat then
    -- At least one line is kept (HISTORY_ON_JOIN 0 too): the list marks a room that had chat lines.
    if redis.call('LPUSH', K_RECENT, event) == 1 then expire_room(TTL_HISTORY) end
    redis.call('LTRIM', K_RECENT, 0, math.max(tonumber(ARGV[6]), 1) - 1)
  end
  if now then release(seq, event) end
  return seq, epoch, event
end

-- The earlier epochs whose history the current one kept, newest first: {epoch, agreed seq}.
local function kept_epochs()
  local out = {}
  for _, entry in ipairs(redis.call('LRANGE', K_EPOCHS, 0, -1)) do
    local at = string.find(entry, ':', 1, true)
    out[#out + 1] = {string.sub(entry, 1, at - 1), tonumber(string.sub(entry, at + 1))}
  end
  return out
end

-- Where (epoch, seq) of an earlier kept epoch stands in the current one, or nil.
local function kept_position(epoch, seq)
  local kept = kept_epochs()
  for i = 1, #kept do
    local agreed = kept[i][2]
    if agreed < seq then seq = agreed end
    if kept[i][1] == epoch then return seq end
  end
  return nil
end

-- The stored event at seq, or '' (trimmed, or never stored).
local function event_at(seq)
  local found = redis.call('XRANGE', K_HISTORY, '0-' .. seq, '0-' .. seq)
  if #found == 0 then return '' end
  return found[1][2][4]
end

-- How long an unused room lives now: longer once it had a chat line in its epoch.
local function room_ttl()
  if redis.call('EXISTS', K_RECENT) == 1 then return TTL_HISTORY end
  return TTL_ROOM
end

-- Where a reader at (since_epoch, since) stands against the history: returns the
-- epoch, the head, and a refusal ('' when events after since can be read; the
-- reader is then at or behind the head). Whether older events were trimmed is not checked here.
-- A position in an earlier epoch whose history this one kept is read as its place
-- in this one (no later than the last seq known to agree): then since is that place.
local function check_since(candidate, since_epoch, since)
  local epoch = ensure_epoch(candidate)
  local head = visible_head()
  if epoch ~= since_epoch then
    local mapped = kept_position(since_epoch, since)
    if not mapped then return epoch, head, 'epoch changed', since end
    since = mapped
  end
  if since > head then return epoch, head, 'position is ahead of the history', since end
  return epoch, head, '', since
end

-- Whether the events right after since are still in the history.
local function kept_after(since)
  local first = redis.call('XRANGE', K_HISTORY, '-', '+', 'COUNT', 1)
  if #first == 0 then return false end
  return tonumber(string.match(first[1][1], '^0%-(%d+)$')) <= since + 1
end
`;

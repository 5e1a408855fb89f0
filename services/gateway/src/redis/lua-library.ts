/**
 * Lua shared by every script that publishes: giving an event its `seq` happens
 * together with storing it in the history and publishing it, in one script, so
 * a node that dies half-way cannot lose or double an event.
 *
 * Conventions of a publishing script (and of sbHistory, which trims too):
 *   KEYS[1..4]  epoch, seq, history, channel (RedisKeys.stream)
 *   ARGV[1..4]  now (ms), history max events, history max age (ms), a candidate epoch (publishArgs)
 * Its own keys and arguments follow from KEYS[5] and ARGV[5].
 */
export const LUA_LIBRARY = `
local K_EPOCH, K_SEQ, K_HISTORY, K_CHANNEL = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function ensure_epoch(candidate)
  local epoch = redis.call('GET', K_EPOCH)
  if not epoch then
    epoch = candidate
    redis.call('SET', K_EPOCH, epoch)
    redis.call('DEL', K_SEQ, K_HISTORY)
  end
  return epoch
end

-- Drop events older than the history's age (ARGV[3]) as of now (ARGV[1]), a bounded number per call.
local function trim_by_age()
  local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[3])
  for _ = 1, 100 do
    local first = redis.call('XRANGE', K_HISTORY, '-', '+', 'COUNT', 1)
    if #first == 0 or tonumber(first[1][2][2]) >= cutoff then break end
    redis.call('XDEL', K_HISTORY, first[1][1])
  end
end

-- body: an event's JSON without its opening brace. Returns seq, epoch.
local function publish(body)
  local epoch = ensure_epoch(ARGV[4])
  local seq = redis.call('INCR', K_SEQ)
  local event = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. body
  redis.call('XADD', K_HISTORY, 'MAXLEN', ARGV[2], '0-' .. seq, 't', ARGV[1], 'e', event)
  trim_by_age()
  redis.call('PUBLISH', K_CHANNEL, event)
  return seq, epoch
end

-- bye: a disconnect notice as stored with its session (JSON without braces or time).
local function announce(bye)
  return publish(bye .. ',"time":' .. ARGV[1] .. '}')
end
`;

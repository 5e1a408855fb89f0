import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import { BusUnavailableError, type HistoryLimits } from './bus.js';

/**
 * Switchboard's Redis keys and the Lua scripts that change them. Everything that
 * must be atomic happens in one script: giving an event its `seq` together with
 * storing and publishing it, and ending a session together with announcing it,
 * so a node that dies half-way cannot lose or double an event.
 *
 * Keys, under a prefix (REDIS_PREFIX, default `switchboard`):
 *   <p>:epoch                 the current history's id (a new one when the history is lost)
 *   <p>:seq                   the last seq given out
 *   <p>:history               stream of events, entry id `0-<seq>`, fields t (ms) and e (event JSON)
 *   <p>:events                the pub/sub channel every node subscribes to
 *   <p>:ref:<client>:<ref>    seq of a published ref, for de-duplication (expires with the history)
 *   <p>:guest-counter         N of AnonymousUser<N>
 *   <p>:session:<token>       hash: id, nickname, node, conn, grace
 *   <p>:tomb:<token>          hash: id, nickname of an ended session, for as long as the history lasts
 *   <p>:node-sessions:<node>  set of tokens held by a node's live connections
 *   <p>:detached              zset: token -> the time its grace ends
 *   <p>:nodes                 set of node ids;  <p>:lease:<node>  expires when a node stops renewing it
 *
 * Keys are derived inside the scripts, so this targets a single Redis (or a
 * primary with replicas), not Redis Cluster.
 */

/** What every publishing script needs to know: where the keys are and how long the history is. */
export interface PublishTarget extends HistoryLimits {
  readonly prefix: string;
}

/** A fresh epoch id, used only if the history has none (it was lost, or never existed). */
export const newEpoch = (): string => nanoid(12);

const LIBRARY = `
local P = ARGV[1]
local function k(name) return P .. ':' .. name end

local function ensure_epoch(candidate)
  local epoch = redis.call('GET', k('epoch'))
  if not epoch then
    epoch = candidate
    redis.call('SET', k('epoch'), epoch)
    redis.call('DEL', k('seq'), k('history'))
  end
  return epoch
end

-- body: an event's JSON without its opening brace. Returns seq, epoch.
local function publish(body)
  local now = tonumber(ARGV[2])
  local epoch = ensure_epoch(ARGV[5])
  local seq = redis.call('INCR', k('seq'))
  local event = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. body
  local hist = k('history')
  redis.call('XADD', hist, 'MAXLEN', ARGV[3], '0-' .. seq, 't', ARGV[2], 'e', event)
  local cutoff = now - tonumber(ARGV[4])
  for _ = 1, 100 do
    local first = redis.call('XRANGE', hist, '-', '+', 'COUNT', 1)
    if #first == 0 or tonumber(first[1][2][2]) >= cutoff then break end
    redis.call('XDEL', hist, first[1][1])
  end
  redis.call('PUBLISH', k('events'), event)
  return seq, epoch
end

-- Remember who an ended session was, as long as the history (ARGV[4]): a client
-- that comes back with its old token gets its old id, so its refs stay de-duplicated.
local function bury(token, id, nickname)
  local tomb = k('tomb:' .. token)
  redis.call('HSET', tomb, 'id', id, 'nickname', nickname)
  redis.call('PEXPIRE', tomb, ARGV[4])
end

local function announce_disconnect(id, nickname)
  return publish('"type":"notification","id":' .. cjson.encode(id) .. ',"nickname":' .. cjson.encode(nickname) ..
    ',"message":' .. cjson.encode(nickname .. ' has disconnected') .. ',"event":"disconnected","time":' .. ARGV[2] .. '}')
end
`;

const SCRIPTS = {
  /** ARGV 1-5: publishArgs(); 6: body; 7: ref key suffix or ''; 8: ref ttl ms. Returns {seq, epoch, duplicate}. */
  sbPublish: `${LIBRARY}
local refkey = nil
if ARGV[7] ~= '' then
  refkey = k('ref:' .. ARGV[7])
  local prev = redis.call('GET', refkey)
  if prev then return {tonumber(prev), ensure_epoch(ARGV[5]), 1} end
end
local seq, epoch = publish(ARGV[6])
if refkey then redis.call('SET', refkey, seq, 'PX', ARGV[8]) end
return {seq, epoch, 0}`,

  /** ARGV 1: prefix; 2: since seq; 3: since epoch; 4: candidate epoch; 5: most events. Returns {epoch, head, reason, events...}. */
  sbHistory: `${LIBRARY}
local epoch = ensure_epoch(ARGV[4])
local head = tonumber(redis.call('GET', k('seq')) or '0')
local since = tonumber(ARGV[2])
if epoch ~= ARGV[3] then return {epoch, head, 'epoch changed'} end
if since > head then return {epoch, head, 'position is ahead of the history'} end
if since == head then return {epoch, head, ''} end
if head - since > tonumber(ARGV[5]) then return {epoch, head, 'too far behind'} end
local hist = k('history')
local first = redis.call('XRANGE', hist, '-', '+', 'COUNT', 1)
if #first == 0 then return {epoch, head, 'history trimmed'} end
local oldest = tonumber(string.match(first[1][1], '^0%-(%d+)$'))
if oldest > since + 1 then return {epoch, head, 'history trimmed'} end
local out = {epoch, head, ''}
local entries = redis.call('XRANGE', hist, '(0-' .. since, '+')
for i = 1, #entries do out[#out + 1] = entries[i][2][4] end
return out`,

  /** ARGV 1: prefix; 2: the stale epoch; 3: a new epoch. Replaces the epoch (and empties the history) only if it is still the stale one. */
  sbRenewEpoch: `${LIBRARY}
local epoch = ensure_epoch(ARGV[3])
if epoch == ARGV[2] then
  epoch = ARGV[3]
  redis.call('SET', k('epoch'), epoch)
  redis.call('DEL', k('seq'), k('history'))
end
return {epoch, tonumber(redis.call('GET', k('seq')) or '0')}`,

  /** ARGV 1: prefix; 2: candidate epoch. Returns {epoch, seq}. */
  sbHead: `${LIBRARY}
local epoch = ensure_epoch(ARGV[2])
return {epoch, tonumber(redis.call('GET', k('seq')) or '0')}`,

  /**
   * ARGV 1: prefix; 2: token; 3: id; 4: nickname; 5: node; 6: conn; 7: grace ms.
   * Registers (or re-registers) a live session. Returns 1 if it existed, 0 if not.
   */
  sbSessionCreate: `${LIBRARY}
local key = k('session:' .. ARGV[2])
local existed = redis.call('EXISTS', key)
local old = redis.call('HGET', key, 'node')
if old and old ~= ARGV[5] then redis.call('SREM', k('node-sessions:' .. old), ARGV[2]) end
redis.call('HSET', key, 'id', ARGV[3], 'nickname', ARGV[4], 'node', ARGV[5], 'conn', ARGV[6], 'grace', ARGV[7])
redis.call('PERSIST', key)
redis.call('ZREM', k('detached'), ARGV[2])
redis.call('SADD', k('node-sessions:' .. ARGV[5]), ARGV[2])
return existed`,

  /**
   * ARGV 1: prefix; 2: token; 3: node; 4: conn. Moves a live session to this
   * connection: {id, nickname, 'live'}. For a session that has ended: {id,
   * nickname, 'ended'} (once). Unknown token: nil.
   */
  sbSessionResume: `${LIBRARY}
local key = k('session:' .. ARGV[2])
local s = redis.call('HMGET', key, 'id', 'nickname', 'node')
if not s[1] then
  local tomb = k('tomb:' .. ARGV[2])
  local t = redis.call('HMGET', tomb, 'id', 'nickname')
  if not t[1] then return false end
  redis.call('DEL', tomb)
  return {t[1], t[2], 'ended'}
end
if s[3] and s[3] ~= ARGV[3] then redis.call('SREM', k('node-sessions:' .. s[3]), ARGV[2]) end
redis.call('HSET', key, 'node', ARGV[3], 'conn', ARGV[4])
redis.call('PERSIST', key)
redis.call('ZREM', k('detached'), ARGV[2])
redis.call('SADD', k('node-sessions:' .. ARGV[3]), ARGV[2])
return {s[1], s[2], 'live'}`,

  /** ARGV 1: prefix; 2: token; 3: nickname. */
  sbSessionRename: `${LIBRARY}
local key = k('session:' .. ARGV[2])
if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'nickname', ARGV[3]) end
return 1`,

  /** ARGV 1: prefix; 2: token; 3: conn; 4: now; 5: extra ttl ms. Starts the grace period if `conn` still holds the session. */
  sbSessionDetach: `${LIBRARY}
local key = k('session:' .. ARGV[2])
local s = redis.call('HMGET', key, 'conn', 'node', 'grace')
if s[1] ~= ARGV[3] then return 0 end
redis.call('SREM', k('node-sessions:' .. s[2]), ARGV[2])
redis.call('HSET', key, 'conn', '')
local grace = tonumber(s[3] or '0')
redis.call('ZADD', k('detached'), tonumber(ARGV[4]) + grace, ARGV[2])
redis.call('PEXPIRE', key, grace + tonumber(ARGV[5]))
return 1`,

  /** ARGV 1-5: publishArgs(); 6: token; 7: conn; 8: '1' to announce. Ends the session now (and announces it), if `conn` still holds it. */
  sbSessionEnd: `${LIBRARY}
local key = k('session:' .. ARGV[6])
local s = redis.call('HMGET', key, 'conn', 'node', 'id', 'nickname')
if not s[3] or s[1] ~= ARGV[7] then return 0 end
redis.call('DEL', key)
redis.call('SREM', k('node-sessions:' .. s[2]), ARGV[6])
redis.call('ZREM', k('detached'), ARGV[6])
bury(ARGV[6], s[3], s[4])
if ARGV[8] == '1' then announce_disconnect(s[3], s[4]) end
return 1`,

  /**
   * ARGV 1-5: publishArgs(); 6: this node; 7: most sessions to end; 8: extra ttl ms.
   * Detaches the sessions of nodes whose lease expired, then ends (and announces,
   * once) every session whose grace is over. Returns {reaped, ended}.
   */
  sbSweep: `${LIBRARY}
local now = tonumber(ARGV[2])
local reaped = 0
for _, node in ipairs(redis.call('SMEMBERS', k('nodes'))) do
  if node ~= ARGV[6] and redis.call('EXISTS', k('lease:' .. node)) == 0 then
    local set = k('node-sessions:' .. node)
    for _, token in ipairs(redis.call('SMEMBERS', set)) do
      local key = k('session:' .. token)
      local grace = tonumber(redis.call('HGET', key, 'grace') or '0')
      redis.call('HSET', key, 'conn', '')
      redis.call('PEXPIRE', key, grace + tonumber(ARGV[8]))
      redis.call('ZADD', k('detached'), now + grace, token)
      reaped = reaped + 1
    end
    redis.call('DEL', set)
    redis.call('SREM', k('nodes'), node)
  end
end
local ended = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', k('detached'), '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))) do
  redis.call('ZREM', k('detached'), token)
  local key = k('session:' .. token)
  local s = redis.call('HMGET', key, 'id', 'nickname')
  redis.call('DEL', key)
  if s[1] then
    bury(token, s[1], s[2])
    announce_disconnect(s[1], s[2])
    ended = ended + 1
  end
end
return {reaped, ended}`,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Register every script on a connection (ioredis sends EVALSHA and falls back to EVAL). */
export function defineScripts(redis: Redis): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 0, lua });
}

/** Run a script defined with defineScripts; any failure is a BusUnavailableError (nothing is known to have run). */
export async function runScript(redis: Redis, name: ScriptName, args: ReadonlyArray<string | number>): Promise<unknown> {
  const command = (redis as unknown as Record<ScriptName, (...a: Array<string | number>) => Promise<unknown>>)[name];
  try {
    return await command.apply(redis, [...args]);
  } catch (err) {
    throw new BusUnavailableError(`redis ${name} failed: ${(err as Error).message}`);
  }
}

/** ARGV[1..5] of a publishing script: prefix, now (ms), history bounds, candidate epoch. */
export function publishArgs(t: PublishTarget): Array<string | number> {
  return [t.prefix, Date.now(), t.historyMaxEvents, t.historyMaxAgeMs, newEpoch()];
}

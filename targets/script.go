package targets

import (
	"crypto/sha1"
	"encoding/hex"
)

// writeScript applies a chunk of events atomically and idempotently.
//
// ARGV[1] is a flat MessagePack array: per event its ID ("" for none), the
// number of commands, then per command its argument count and arguments.
// ARGV[2] is the marker base key and ARGV[3] the marker TTL in milliseconds.
//
// Markers are members (the event IDs) of sets bucketed by Redis server
// time: bucket b = floor(now / TTL) lives until (b+2)*TTL. A marker written
// at time t is in bucket floor(t/TTL), which at any time up to t+TTL is the
// current bucket or the one before, so an event is looked up with one
// SMISMEMBER per bucket per chunk, and marked with one SADD per chunk: far
// cheaper than a key with its own expiry per event. A marker lives between
// TTL and 2*TTL. An event whose ID is marked (a replay, or a retried batch
// that had reached Redis) is skipped, as is an ID repeated within the chunk.
//
// If a command fails (WRONGTYPE), the events before it are marked, the failed
// event is not, and the error names its index in the chunk: sending the
// chunk again is safe.
const writeScript = `
local mp = rawget(_G, 'cmsgpack')
if mp == nil then
  -- A server without cmsgpack (an embedded Redis such as miniredis): decode
  -- the subset the packer writes (array32, fixint, uint32, strings).
  mp = {unpack = function(s)
    local pos = 1
    local function u(n)
      local v = 0
      for k = 0, n - 1 do v = v * 256 + string.byte(s, pos + k) end
      pos = pos + n
      return v
    end
    local function str(n)
      local v = string.sub(s, pos, pos + n - 1)
      pos = pos + n
      return v
    end
    if string.byte(s, 1) ~= 0xdd then error('targets: bad chunk encoding') end
    pos = 2
    local out = {}
    for k = 1, u(4) do
      local b = string.byte(s, pos)
      pos = pos + 1
      if b < 0x80 then out[k] = b
      elseif b >= 0xa0 and b <= 0xbf then out[k] = str(b - 0xa0)
      elseif b == 0xd9 then out[k] = str(u(1))
      elseif b == 0xda then out[k] = str(u(2))
      elseif b == 0xdb then out[k] = str(u(4))
      elseif b == 0xce then out[k] = u(4)
      else error('targets: bad chunk encoding') end
    end
    return out
  end}
end
local a = mp.unpack(ARGV[1])
local base, ttl = ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = math.floor(now / ttl)
local k0 = base .. b
local n = #a
local ids, pos = {}, {}
local i = 1
while i <= n do
  ids[#ids + 1] = a[i]
  pos[#pos + 1] = i
  local nops = a[i + 1]
  i = i + 2
  for o = 1, nops do i = i + 1 + a[i] end
end
local m0 = redis.call('SMISMEMBER', k0, unpack(ids))
local m1 = redis.call('SMISMEMBER', base .. (b - 1), unpack(ids))
local marks, seen, written = {}, {}, 0
local function mark()
  if #marks > 0 then
    redis.call('SADD', k0, unpack(marks))
    redis.call('PEXPIREAT', k0, (b + 2) * ttl)
  end
end
for e = 1, #ids do
  local id = ids[e]
  if id == '' or (m0[e] == 0 and m1[e] == 0 and not seen[id]) then
    i = pos[e] + 2
    for o = 1, a[pos[e] + 1] do
      local nargs = a[i]
      local r = redis.pcall(unpack(a, i + 1, i + nargs))
      if type(r) == 'table' and r.err then
        mark()
        return redis.error_reply('RSWRITE event ' .. (e - 1) .. ' command ' .. o .. ': ' .. r.err)
      end
      i = i + 1 + nargs
    end
    if id ~= '' then
      seen[id] = true
      marks[#marks + 1] = id
    end
    written = written + 1
  end
end
mark()
return written
`

var writeScriptSHA = func() string {
	h := sha1.Sum([]byte(writeScript))
	return hex.EncodeToString(h[:])
}()

package targets

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
)

// The write script applies a chunk of events atomically and idempotently.
// It is generated per shape (the sink's writes for one event schema, see
// shape), so that every constant argument (command, key without
// placeholders, MAXLEN, field names) is a literal of the script and a chunk
// carries only what varies: per event its ID ("" for none) and the values,
// in the order of the shape's layout, as a flat MessagePack array of
// strings. A generic script that decoded every argument of every command
// cost Redis about 30% more per event.
//
// ARGV[1] is the chunk, ARGV[2] the marker base key and ARGV[3] the marker
// TTL in milliseconds, 0 for a chunk of a checkpointed partition's events
// (stream.Origin), whose markers are kept per checkpoint generation (see
// below): ARGV[4..7] are then its epoch, generation, last checkpoint saved
// and how long (ms) its keys live unless written again. On a Redis Cluster (see cluster.go) a call applies
// the commands of one hash slot: the marker base key, whose hash tag puts it
// in that slot, is KEYS[1], the target keys follow it in KEYS (declared
// only: the chunk still carries them), ARGV[2] is the TTL and ARGV[3] holds
// a byte per event, "1" for the events the call counts in Stats.
//
// Markers are members (the event IDs) of sets bucketed by Redis server
// time: bucket b = floor(now / TTL). A marker written at time t is in bucket
// floor(t/TTL), which at any time up to t+TTL is the current bucket or the
// one before, so an event is looked up with one SMISMEMBER per bucket per
// chunk, and marked with one SADD per chunk: far cheaper than a key with its
// own expiry per event. The script UNLINKs bucket b-2, which Redis then frees
// in a background thread: a bucket holds every ID of a TTL, and letting it
// expire would free millions of members in Redis's main thread (a DEL of a
// set of 2M IDs blocked Redis 470 ms). Its expiry, (b+3)*TTL, is only the
// fallback for a sink that stops writing. A marker lives between TTL and
// 2*TTL while the sink writes, up to 3*TTL when it stops. An event whose ID
// is marked (a replay, or a retried batch that had reached Redis) is
// skipped. A chunk never holds an ID twice (the
// sink starts a new chunk instead), so the script needs no table of the IDs
// it has seen: the later chunk finds the marker.
//
// The events of a checkpointed partition (stream.Origin) need no TTL: a
// crash replays them only from the partition's last checkpoint saved. Their
// markers go into a set per epoch and generation (the checkpoint taken
// before the event), base + ":" + epoch + ":" + generation, and the base key
// itself, a hash, holds the partition's highest epoch seen (e) and its live
// generations (g). A call drops the sets no replay from the last checkpoint
// saved can need (see liveLua), looks the IDs up in the others, and marks
// into its own, the IDs it finds too (a later replay from a checkpoint of
// this epoch looks there); what it finds in another epoch's set it moves
// into its own. The markers a sink keeps are those written since its
// partitions' last checkpoints (and those of a consumer that crashed, until
// a replay took them over), whatever the number of events written and
// however old a replay. A call whose epoch is below the one the base holds comes from a
// zombie (a consumer that lost the partition to a newer one): it writes
// nothing and fails with FENCED.
//
// If a command fails (WRONGTYPE), the events before it are marked, the failed
// event is not, and the error names its index in the chunk: sending the
// chunk again is safe.

// liveLua defines liveGens(base, E, C): the generations of the marker state
// base ("epoch:gen", each a set base:epoch:gen) that a replay from a
// checkpoint at C or later may still need; it unlinks the others. A
// generation g of epoch e holds the outputs of the inputs from g up to the
// next checkpoint e took: it is dead once that one is at or below C. For
// the caller's epoch E, C is its own (or where it was restored), so every
// g < C is dead. Another epoch's next checkpoint is known only if it wrote
// in the generation after: its last generation (a consumer that crashed
// there) may hold outputs of inputs beyond C, and is kept until a replay
// took its markers over (the write script moves what it finds there into
// its own generation) or it expires.
const liveLua = `
local function liveGens(base, E, C)
  local all = {}
  for g in string.gmatch(redis.call('HGET', base, 'g') or '', '[^,]+') do
    local e, n = string.match(g, '^(%-?%d+):(%-?%d+)$')
    if e then all[#all + 1] = {g, e, tonumber(n)} end
  end
  local out = {}
  for _, x in ipairs(all) do
    local dead = false
    if tonumber(x[2]) == E then
      dead = x[3] < C
    else
      for _, y in ipairs(all) do
        if y[2] == x[2] and y[3] > x[3] and y[3] <= C then dead = true end
      end
      dead = dead or redis.call('EXISTS', base .. ':' .. x[1]) == 0
    end
    if dead then
      redis.call('UNLINK', base .. ':' .. x[1])
    else
      out[#out + 1] = x[1]
    end
  end
  return out
end
`

// scriptDecode decodes the chunk. The decoder stands in for cmsgpack on
// servers without it (an embedded Redis such as miniredis); it reads the
// subset the packer writes (an array32 of strings).
const scriptDecode = `
local mp = rawget(_G, 'cmsgpack')
if mp == nil then
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
      if b >= 0xa0 and b <= 0xbf then out[k] = str(b - 0xa0)
      elseif b == 0xd9 then out[k] = str(u(1))
      elseif b == 0xda then out[k] = str(u(2))
      elseif b == 0xdb then out[k] = str(u(4))
      else error('targets: bad chunk encoding') end
    end
    return out
  end}
end
local a = mp.unpack(ARGV[1])
BASE
local n = #a / S
if n ~= math.floor(n) then return redis.error_reply('targets: chunk of ' .. #a .. ' values for a stride of ' .. S) end
`

// scriptHead looks a chunk's IDs up in its markers (after scriptDecode).
const scriptHead = scriptDecode + liveLua + `
local k0, sets, expire, others = nil, nil, nil, {}
if ttl > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local b = math.floor(now / ttl)
  k0 = base .. b
  redis.call('UNLINK', base .. (b - 2))
  sets = {k0, base .. (b - 1)}
  expire = function() redis.call('PEXPIREAT', k0, (b + 3) * ttl) end
else
  local E, G, C, keep = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  local cur = tonumber(redis.call('HGET', base, 'e') or '0')
  if cur > E then return redis.error_reply('FENCED ' .. cur) end
  local own = ARGV[4] .. ':' .. G
  local live = liveGens(base, E, C)
  local has = false
  sets = {}
  for _, g in ipairs(live) do
    has = has or g == own
    sets[#sets + 1] = base .. ':' .. g
    others[#sets] = string.match(g, '^(%-?%d+):') ~= ARGV[4]
  end
  if not has then live[#live + 1] = own end
  redis.call('HSET', base, 'e', E, 'g', table.concat(live, ','))
  redis.call('PEXPIRE', base, keep)
  k0 = base .. ':' .. own
  expire = function() redis.call('PEXPIRE', k0, keep) end
end
local ids = {}
for e = 1, n do ids[e] = a[(e - 1) * S + 1] end
local m = {}
for j, k in ipairs(sets) do
  local r = redis.call('SMISMEMBER', k, unpack(ids))
  local moved = {}
  for e = 1, n do
    m[e] = m[e] or r[e] == 1
    if r[e] == 1 and others[j] then moved[#moved + 1] = ids[e] end
  end
  if #moved > 0 then redis.call('SREM', k, unpack(moved)) end
end
if ttl == 0 then
  local again = {}
  for e = 1, n do
    if m[e] and ids[e] ~= '' then again[#again + 1] = ids[e] end
  end
  if #again > 0 then
    redis.call('SADD', k0, unpack(again))
    expire()
  end
end
local marks, nm, written = {}, 0, 0
local function mark()
  if nm > 0 then
    redis.call('SADD', k0, unpack(marks))
    expire()
  end
end
local r
for e = 1, n do
  local i = (e - 1) * S + 1
  local id = a[i]
  if id == '' or not m[e] then
`

const scriptTail = `    if id ~= '' then
      nm = nm + 1
      marks[nm] = id
    end
    COUNT
  end
end
mark()
return written
`

// The events of a checkpointed partition whose outputs follow its input
// order (stream.Event.Seq) need no marker at all: a replay from a
// checkpoint emits them again in the same order with the same Seq. A chunk
// of such events carries, in place of each ID, its sequence key: the Seq
// in 16 digits then 10 digits that tell apart the outputs of one input
// (see seqKey), then the ID if a write needs it (usesID); a sink sends them
// in increasing order. The base hash holds
// the highest key written (w) beside the epoch (e): a call skips the
// events at or below it, writes the others and raises w, in one atomic
// call. The memory is a field per partition (per slot on a cluster),
// whatever the events written, and a replay of any age is absorbed.
//
// If a command fails, w stays at the last event written and f records the
// failed key with the caller's epoch: a later call of the same epoch whose
// first event to write is not that one fails with RSBLOCKED, unapplied (it
// came in the same pipeline after the failed chunk, which will be sent
// again first); the failed event, sent again, clears f. A later epoch (a
// restart replaying from a checkpoint) takes over whatever it emits.
const seqHead = scriptDecode + `
local E, keep = tonumber(ARGV[4]), tonumber(ARGV[7])
local st = redis.call('HMGET', base, 'e', 'w', 'f')
local cur = tonumber(st[1] or '0')
if cur > E then return redis.error_reply('FENCED ' .. cur) end
local hs, hu = -1, -1
if st[2] then hs, hu = tonumber(string.sub(st[2], 1, 16)), tonumber(string.sub(st[2], 17)) end
local f, fe = nil, nil
if st[3] then fe, f = string.match(st[3], '^(%d+):(.*)$') end
if f and tonumber(fe) < E then f = nil end
local cleared = st[3] ~= false and f == nil
local last, written = nil, 0
local function save(failed)
  local args = {'e', E}
  if last then
    args[#args + 1] = 'w'
    args[#args + 1] = last
  end
  if failed then
    args[#args + 1] = 'f'
    args[#args + 1] = E .. ':' .. failed
  elseif cleared then
    redis.call('HDEL', base, 'f')
  end
  redis.call('HSET', base, unpack(args))
  redis.call('PEXPIRE', base, keep)
end
local r
for e = 1, n do
  local i = (e - 1) * S + 1
  local id = a[i]
  local xs = tonumber(string.sub(id, 1, 16))
  if xs > hs or (xs == hs and tonumber(string.sub(id, 17)) > hu) then
    if f then
      if id ~= f then return redis.error_reply('RSBLOCKED an earlier write of this partition failed at ' .. f .. ' and is to be sent again first') end
      f, cleared = nil, true
    end
`

const seqTail = `    last = id
    COUNT
  end
end
save(nil)
return written
`

// maxInlineArgs is the most arguments a generated call passes inline.
const maxInlineArgs = 60

// arg is one argument of a command in a shape's layout: a literal, the
// next value of the event's record, or the event's ID.
type arg struct {
	lit   string
	value bool
	id    bool
}

// The lines of the script that differ between a single Redis and a cluster.
const (
	baseSingle   = "local base, ttl = ARGV[2], tonumber(ARGV[3])"
	baseCluster  = "local base, ttl, fl = KEYS[1], tonumber(ARGV[2]), ARGV[3]"
	countSingle  = "written = written + 1"
	countCluster = "if string.byte(fl, e) == 49 then written = written + 1 end"
)

// genScript returns the write script for commands, whose values are numbered
// in order after the event's ID, and its SHA1; cluster selects the calling
// convention of a cluster.
func genScript(commands [][]arg, cluster bool) (src, sha string) {
	return genScriptOf(commands, cluster, false)
}

// genSeqScript returns the write script for commands of events in input
// order (seqHead) and its SHA1.
func genSeqScript(commands [][]arg, cluster bool) (src, sha string) {
	return genScriptOf(commands, cluster, true)
}

// usesID says whether a command of commands writes the event's ID: a
// chunk in input order (seqHead) then carries it after the sequence key.
func usesID(commands [][]arg) bool {
	for _, c := range commands {
		for _, a := range c {
			if a.id {
				return true
			}
		}
	}
	return false
}

// strideOf returns how many strings a chunk holds per event of commands:
// its ID (or sequence key), the ID again if withID, and the values.
func strideOf(commands [][]arg, withID bool) int {
	stride := 1
	if withID {
		stride++ // the ID follows the sequence key
	}
	for _, c := range commands {
		stride += valuesOf(c)
	}
	return stride
}

func genScriptOf(commands [][]arg, cluster, seq bool) (src, sha string) {
	var b strings.Builder
	withID := seq && usesID(commands)
	stride := strideOf(commands, withID)
	b.WriteString("local S = ")
	b.WriteString(strconv.Itoa(stride))
	base, count := baseSingle, countSingle
	if cluster {
		base, count = baseCluster, countCluster
	}
	head, tail, onErr := scriptHead, scriptTail, "mark()"
	if seq {
		head, tail, onErr = seqHead, seqTail, "save(id)"
	}
	b.WriteString(strings.Replace(head, "BASE", base, 1))
	v, id := 0, "id"
	if withID {
		v, id = 1, "a[i + 1]"
	}
	for k, c := range commands {
		// A call's arguments take a register each: past Lua's limit (about
		// 200 less what the loop holds) they go through a table, whose
		// constructor flushes every 50 items.
		wide := len(c) > maxInlineArgs
		if wide {
			b.WriteString("    r = redis.pcall(unpack({")
		} else {
			b.WriteString("    r = redis.pcall(")
		}
		for j, a := range c {
			if j > 0 {
				b.WriteString(", ")
			}
			switch {
			case a.id:
				b.WriteString(id)
			case a.value:
				v++
				b.WriteString("a[i + ")
				b.WriteString(strconv.Itoa(v))
				b.WriteString("]")
			default:
				b.WriteString(luaQuote(a.lit))
			}
		}
		if wide {
			b.WriteString("})")
		}
		b.WriteString(")\n    if type(r) == 'table' and r.err then\n      " + onErr + "\n")
		b.WriteString("      return redis.error_reply('RSWRITE event ' .. (e - 1) .. ' command ")
		b.WriteString(strconv.Itoa(k + 1))
		b.WriteString(": ' .. r.err)\n    end\n")
	}
	b.WriteString(strings.Replace(tail, "COUNT", count, 1))
	src = b.String()
	h := sha1.Sum([]byte(src))
	return src, hex.EncodeToString(h[:])
}

// luaQuote returns s as a Lua string literal: printable ASCII as is, every
// other byte, quote and backslash as a three-digit decimal escape.
func luaQuote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b = append(b, c)
			continue
		}
		b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
	}
	return string(append(b, '"'))
}

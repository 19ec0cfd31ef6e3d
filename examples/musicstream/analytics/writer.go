package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

const (
	kindHash = 'h'
	kindZset = 'z'

	indexHours = "hours"
	indexDays  = "days"
)

// entry is the pending write of one key: absolute counts by field (hash) or
// member (sorted set).
type entry struct {
	kind   byte
	top    int
	index  string // "hours" or "days"
	bucket string
	score  int64 // the bucket's start, unix seconds
	fields map[string]int64
}

func (e *entry) set(field string, n int64) { e.fields[field] = n }

// writer keeps the pending writes of one partition and writes them in one
// transaction.
type writer struct {
	rdb     redis.UniversalClient
	prefix  string
	part    string
	ttl     time.Duration
	retry   time.Duration
	max     int
	pending map[string]*entry
	clock   stream.Clock
	log     *slog.Logger
	lastTry time.Time
	loaded  bool // mergeScript is known to be loaded
}

func newWriter(rdb redis.UniversalClient, cfg Config, part string) *writer {
	return &writer{rdb: rdb, prefix: cfg.Prefix, part: part, ttl: cfg.TTL, retry: cfg.RetryEvery, max: cfg.MaxPending,
		pending: map[string]*entry{}, clock: cfg.Clock, log: cfg.Logger}
}

// entry returns the pending entry of key suffix, creating it; nil when
// MaxPending keys are waiting already.
func (w *writer) entry(suffix string, kind byte, top int, index, bucket string, start time.Time) *entry {
	if e := w.pending[suffix]; e != nil {
		return e
	}
	if len(w.pending) >= w.max {
		return nil
	}
	e := &entry{kind: kind, top: top, index: index, bucket: bucket, score: start.Unix(), fields: map[string]int64{}}
	w.pending[suffix] = e
	return e
}

func (w *writer) empty() bool { return len(w.pending) == 0 }
func (w *writer) len() int    { return len(w.pending) }

func (w *writer) now() time.Time {
	if w.clock == nil {
		return time.Now()
	}
	return w.clock.Now()
}

func (w *writer) retryDue() bool { return !w.now().Before(w.lastTry.Add(w.retry)) }

// mergeScript rebuilds a key as the sum of every partition's partial.
// KEYS[1] the key, KEYS[2] the partitions set; ARGV: kind (h/z), the
// partials' prefix, ":" + key suffix, how many members to keep (0 all), TTL
// seconds (0 none).
var mergeScript = redis.NewScript(`
local parts = redis.call('SMEMBERS', KEYS[2])
table.sort(parts)
redis.call('DEL', KEYS[1])
local srcs = {}
for _, p in ipairs(parts) do srcs[#srcs + 1] = ARGV[2] .. p .. ARGV[3] end
if ARGV[1] == 'z' then
  local n = tonumber(ARGV[4])
  if #srcs == 1 and n > 0 then
    -- one partition: copy its top n (the same members ZUNIONSTORE and the
    -- trim below keep: highest scores, ties by the greater member)
    local top = redis.call('ZREVRANGE', srcs[1], 0, n - 1, 'WITHSCORES')
    local args = {}
    for i = 1, #top, 2 do args[#args + 1] = top[i + 1]; args[#args + 1] = top[i] end
    if #args > 0 then redis.call('ZADD', KEYS[1], unpack(args)) end
  else
    if #srcs > 0 then redis.call('ZUNIONSTORE', KEYS[1], #srcs, unpack(srcs)) end
    if n > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(n + 1)) end
  end
else
  local sums, names = {}, {}
  for _, k in ipairs(srcs) do
    local kv = redis.call('HGETALL', k)
    for i = 1, #kv, 2 do
      if sums[kv[i]] == nil then names[#names + 1] = kv[i]; sums[kv[i]] = 0 end
      sums[kv[i]] = sums[kv[i]] + tonumber(kv[i + 1])
    end
  end
  for _, f in ipairs(names) do redis.call('HSET', KEYS[1], f, string.format('%d', sums[f])) end
end
local ttl = tonumber(ARGV[5])
if ttl > 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ttl) end
return 1
`)

// flush writes every pending entry: its partial, the index, then the merge.
// It returns the number of keys written; on error the entries stay pending.
// The merge script goes by its SHA; after a NOSCRIPT (a restarted Redis) it
// is loaded again and the whole write retried once, which is idempotent.
func (w *writer) flush(ctx context.Context) (int, error) {
	if len(w.pending) == 0 {
		return 0, nil
	}
	w.lastTry = w.now()
	for attempt := 0; ; attempt++ {
		if !w.loaded {
			if err := mergeScript.Load(ctx, w.rdb).Err(); err != nil {
				return 0, fmt.Errorf("load merge script: %w", err)
			}
			w.loaded = true
		}
		n, err := w.write(ctx)
		if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			w.loaded = false
			continue
		}
		return n, err
	}
}

func (w *writer) write(ctx context.Context) (int, error) {
	suffixes := make([]string, 0, len(w.pending))
	for s := range w.pending {
		suffixes = append(suffixes, s)
	}
	sort.Strings(suffixes)
	stats := KeyPrefix(w.rdb, w.prefix)
	parts := stats + "partitions"
	ttl := int64(w.ttl / time.Second)
	// An hour's keys share one index entry: each distinct one is written once.
	type indexEntry struct {
		index, bucket string
		score         int64
	}
	var indexed []indexEntry
	_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, parts, w.part)
		for _, s := range suffixes {
			e := w.pending[s]
			partial := stats + "part:" + w.part + ":" + s
			if e.kind == kindHash {
				args := make([]any, 0, 2*len(e.fields))
				for f, n := range e.fields {
					args = append(args, f, n)
				}
				p.HSet(ctx, partial, args...)
			} else {
				zs := make([]redis.Z, 0, len(e.fields))
				for m, n := range e.fields {
					zs = append(zs, redis.Z{Member: m, Score: float64(n)})
				}
				p.ZAdd(ctx, partial, zs...)
			}
			if ie := (indexEntry{e.index, e.bucket, e.score}); !slices.Contains(indexed, ie) {
				indexed = append(indexed, ie)
			}
			if ttl > 0 {
				p.Expire(ctx, partial, w.ttl)
			}
			mergeScript.EvalSha(ctx, p, []string{stats + s, parts}, string(e.kind), stats+"part:", ":"+s, e.top, ttl)
		}
		for i, ie := range indexed {
			p.ZAdd(ctx, stats+ie.index, redis.Z{Member: ie.bucket, Score: float64(ie.score)})
			if ttl > 0 && !slices.ContainsFunc(indexed[:i], func(o indexEntry) bool { return o.index == ie.index }) {
				p.Expire(ctx, stats+ie.index, w.ttl)
			}
		}
		if ttl > 0 {
			p.Expire(ctx, parts, w.ttl)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := len(w.pending)
	clear(w.pending)
	return n, nil
}

// Package checkpoint stores pipeline checkpoints in Redis, so that a
// partition's state follows it to whichever consumer of the group is
// assigned it next.
package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// ErrFenced is returned by Save when the partition was assigned to another
// consumer (or again) since this one loaded its checkpoint: a zombie, a
// consumer that lost the partition without noticing, must not overwrite the
// newer owner's checkpoint.
var ErrFenced = errors.New("fenced")

// Redis is a stream.CheckpointStore on Redis that keeps checkpoints
// incrementally (stream.DeltaCheckpointStore). A partition's checkpoint
// (its key K) lives in keys of one hash slot, so that one Lua call saves it
// atomically on a Redis Cluster too:
//
//	prefix{K}        the header: offset, watermark, the operators' layout
//	                 and small state (a string)
//	prefix{K}:N      the entries of the N-th incremental operator (a hash:
//	                 a key's window, a buffered event, a remembered id)
//	prefix{K}:epoch  the fencing epoch (a counter)
//
// A save writes the header and, per operator, only the entries changed
// since the previous save (HSET, HDEL): its cost follows the change, not the
// state. Nothing needs compacting: a hash replaces an entry in place. A
// save too large for one call (the first one of a big state) is staged in
// keys of the same slot first and applied by the one call that checks the
// epoch.
//
// Load, which the pipeline calls when a partition is assigned, takes a new
// epoch (INCR); Save applies only while no later epoch was taken, else it
// fails with ErrFenced: the newest owner's checkpoint stays. A checkpoint of
// an earlier release (one string, prefix+K) is still loaded, and removed
// once the partition's first incremental checkpoint is saved.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string

	mu     sync.Mutex
	epochs map[string]int64 // by key: the epoch this store took
	parts  map[string]int   // by key: the parts the stored checkpoint has
	legacy map[string]bool  // keys loaded from a checkpoint of the old layout
}

// NewRedis returns a store writing keys under prefix (default
// "checkpoint:").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "checkpoint:"
	}
	return &Redis{rdb: rdb, prefix: prefix, epochs: map[string]int64{}, parts: map[string]int{}, legacy: map[string]bool{}}
}

// KeepsDeltas implements stream.DeltaCheckpointStore.
func (r *Redis) KeepsDeltas() bool { return true }

func (r *Redis) head(key string) string        { return r.prefix + "{" + key + "}" }
func (r *Redis) epochKey(key string) string    { return r.head(key) + ":epoch" }
func (r *Redis) part(key string, i int) string { return r.head(key) + ":" + strconv.Itoa(i) }
func (r *Redis) stage(key string, e int64) string {
	return r.head(key) + ":stage:" + strconv.FormatInt(e, 10)
}

// Keys returns the checkpoint keys (pipeline/source/partition) stored under
// the prefix.
func (r *Redis) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := scanKeys(ctx, r.rdb, r.prefix+"{*}", func(k string) {
		k = strings.TrimPrefix(k, r.prefix)
		if strings.HasPrefix(k, "{") && strings.HasSuffix(k, "}") {
			keys = append(keys, k[1:len(k)-1])
		}
	})
	return keys, err
}

// scanKeys calls fn for each key matching pattern, on every master of a
// cluster.
func scanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, fn func(string)) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			it := c.Scan(ctx, 0, pattern, 1000).Iterator()
			for it.Next(ctx) {
				mu.Lock()
				fn(it.Val())
				mu.Unlock()
			}
			return it.Err()
		})
	}
	it := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for it.Next(ctx) {
		fn(it.Val())
	}
	return it.Err()
}

// Load takes a new epoch for key (the partition is this consumer's from
// now on) and returns its checkpoint, or nil if there is none.
func (r *Redis) Load(ctx context.Context, key string) (*stream.Checkpoint, error) {
	if _, err := r.acquire(ctx, key); err != nil {
		return nil, err
	}
	name := r.head(key)
	b, err := r.rdb.Get(ctx, name).Bytes()
	legacy := false
	if errors.Is(err, redis.Nil) {
		name, legacy = r.prefix+key, true
		b, err = r.rdb.Get(ctx, name).Bytes()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	nparts := 0
	if !legacy {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > 1<<20 {
			return nil, fmt.Errorf("checkpoint %s: bad header", name)
		}
		nparts, b = int(n), b[k:]
	}
	var cp stream.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if cp.Delta != nil {
		parts := make([]map[string][]byte, nparts)
		for i := range parts {
			if parts[i], err = r.loadPart(ctx, r.part(key, i)); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", r.part(key, i), err)
			}
		}
		cp.Delta = stream.LoadedDelta(cp.Delta.Meta, parts)
	}
	r.mu.Lock()
	r.parts[key], r.legacy[key] = nparts, legacy
	r.mu.Unlock()
	return &cp, nil
}

// loadPart reads a part's hash: at once when small, by HSCAN when not.
func (r *Redis) loadPart(ctx context.Context, name string) (map[string][]byte, error) {
	n, err := r.rdb.HLen(ctx, name).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string][]byte, n)
	if n <= 50000 {
		all, err := r.rdb.HGetAll(ctx, name).Result()
		for k, v := range all {
			m[k] = []byte(v)
		}
		return m, err
	}
	var cursor uint64
	for {
		kvs, next, err := r.rdb.HScan(ctx, name, cursor, "*", 10000).Result()
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(kvs); i += 2 {
			m[kvs[i]] = []byte(kvs[i+1])
		}
		if cursor = next; cursor == 0 {
			return m, nil
		}
	}
}

// acquire takes a new epoch for key.
func (r *Redis) acquire(ctx context.Context, key string) (int64, error) {
	e, err := r.rdb.Incr(ctx, r.epochKey(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: epoch: %w", r.head(key), err)
	}
	r.mu.Lock()
	r.epochs[key] = e
	r.mu.Unlock()
	return e, nil
}

// Epoch returns the epoch this store holds for key (0: none taken).
func (r *Redis) Epoch(key string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epochs[key]
}

// saveScript applies a checkpoint, unless the epoch KEYS[2] is past
// ARGV[1]. KEYS[1] is the header, then per part three keys: the part's
// hash, its staged puts (a hash) and its staged deletions (a set); then the
// hashes of parts the checkpoint no longer has. ARGV: the epoch, the header,
// the number of parts, then per part: full, staged, the deletions' count,
// the puts' count, the deletions, the puts (key, value).
var saveScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur > tonumber(ARGV[1]) then
  return redis.error_reply('FENCED ' .. cur)
end
local function chunked(cmd, key, list, from, to, step)
  local i = from
  while i <= to do
    local j = math.min(to, i + step - 1)
    redis.call(cmd, key, unpack(list, i, j))
    i = j + 1
  end
end
local nparts = tonumber(ARGV[3])
local a = 4
for p = 1, nparts do
  local key, stage, dels = KEYS[3 * p], KEYS[3 * p + 1], KEYS[3 * p + 2]
  local full, staged = ARGV[a] == '1', ARGV[a + 1] == '1'
  local nd, np = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  if full then redis.call('DEL', key) end
  if staged then
    if full then
      if redis.call('EXISTS', stage) == 1 then redis.call('RENAME', stage, key) end
    else
      local d = redis.call('SMEMBERS', dels)
      chunked('HDEL', key, d, 1, #d, 1000)
      local kv = redis.call('HGETALL', stage)
      chunked('HSET', key, kv, 1, #kv, 1000)
    end
    redis.call('DEL', stage, dels)
  else
    chunked('HDEL', key, ARGV, a, a + nd - 1, 1000)
    a = a + nd
    chunked('HSET', key, ARGV, a, a + 2 * np - 1, 1000)
    a = a + 2 * np
  end
end
for k = 3 * nparts + 3, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('SET', KEYS[1], ARGV[2])
return 'OK'
`)

// inlineArgs is the most arguments a save passes in its one call; a larger
// one is staged first.
const inlineArgs = 500000

// Save applies a checkpoint of key (its delta when cp.Delta is set), unless
// the partition was assigned since this store loaded it (ErrFenced). A key
// never loaded takes an epoch first.
func (r *Redis) Save(ctx context.Context, key string, cp *stream.Checkpoint) error {
	header, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	var parts []stream.DeltaPart
	if cp.Delta != nil {
		parts = cp.Delta.Parts
	}
	epoch := r.Epoch(key)
	if epoch == 0 {
		if epoch, err = r.acquire(ctx, key); err != nil {
			return err
		}
	}
	r.mu.Lock()
	had, legacy := r.parts[key], r.legacy[key]
	r.mu.Unlock()
	nargs := 0
	for _, p := range parts {
		nargs += len(p.Dels) + 2*len(p.Puts)
	}
	staged := nargs > inlineArgs
	keys := []string{r.head(key), r.epochKey(key)}
	args := make([]any, 0, 3+4*len(parts)+min(nargs, inlineArgs+1))
	// The header starts with the number of parts.
	args = append(args, epoch, append(binary.AppendUvarint(nil, uint64(len(parts))), header...), len(parts))
	stage := r.stage(key, epoch)
	for i, p := range parts {
		pstage, pdels := stage+":"+strconv.Itoa(i), stage+":"+strconv.Itoa(i)+":dels"
		keys = append(keys, r.part(key, i), pstage, pdels)
		args = append(args, flag(p.Full), flag(staged), len(p.Dels), len(p.Puts))
		if staged {
			if err := r.stagePart(ctx, pstage, pdels, p); err != nil {
				return fmt.Errorf("checkpoint %s: staging: %w", r.head(key), err)
			}
			continue
		}
		for _, k := range p.Dels {
			args = append(args, k)
		}
		for _, kv := range p.Puts {
			args = append(args, kv.Key, kv.Value)
		}
	}
	for i := len(parts); i < had; i++ {
		keys = append(keys, r.part(key, i))
	}
	err = saveScript.Run(ctx, r.rdb, keys, args...).Err()
	if err != nil && strings.HasPrefix(err.Error(), "FENCED ") {
		cur, _ := strconv.ParseInt(strings.TrimPrefix(err.Error(), "FENCED "), 10, 64)
		return fmt.Errorf("%w: the partition was assigned again since this consumer took it (epoch %d of %s, this consumer's %d): this consumer is a zombie, its state is stale", ErrFenced, cur, r.epochKey(key), epoch)
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.parts[key], r.legacy[key] = len(parts), false
	r.mu.Unlock()
	if legacy {
		// The checkpoint of the old layout is superseded.
		return r.rdb.Del(ctx, r.prefix+key, r.prefix+key+":epoch").Err()
	}
	return nil
}

// stagePart writes a part's puts and deletions into staging keys, in
// pipelined chunks.
func (r *Redis) stagePart(ctx context.Context, stage, dels string, p stream.DeltaPart) error {
	if err := r.rdb.Del(ctx, stage, dels).Err(); err != nil {
		return err
	}
	const chunk = 2000
	pipe := r.rdb.Pipeline()
	queued := 0
	flush := func(force bool) error {
		if queued == 0 || (!force && queued < 64) {
			return nil
		}
		queued = 0
		_, err := pipe.Exec(ctx)
		return err
	}
	for i := 0; i < len(p.Puts); i += chunk {
		kvs := p.Puts[i:min(len(p.Puts), i+chunk)]
		args := make([]any, 0, 2*len(kvs))
		for _, kv := range kvs {
			args = append(args, kv.Key, kv.Value)
		}
		pipe.HSet(ctx, stage, args...)
		queued++
		if err := flush(false); err != nil {
			return err
		}
	}
	for i := 0; i < len(p.Dels); i += chunk {
		ks := p.Dels[i:min(len(p.Dels), i+chunk)]
		args := make([]any, 0, len(ks))
		for _, k := range ks {
			args = append(args, k)
		}
		pipe.SAdd(ctx, dels, args...)
		queued++
		if err := flush(false); err != nil {
			return err
		}
	}
	return flush(true)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

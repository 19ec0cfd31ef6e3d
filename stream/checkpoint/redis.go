// Package checkpoint stores pipeline checkpoints in Redis, so that a
// partition's state follows it to whichever consumer of the group is
// assigned it next.
package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
// (its key K) lives in keys of one hash slot, so that one Lua call commits
// it atomically on a Redis Cluster too:
//
//	prefix{K}           the head: which keys below make the checkpoint, then
//	                    its header (offset, watermark, the operators' layout
//	                    and small state)
//	prefix{K}:N:G       the entries of the N-th incremental operator as of
//	                    some checkpoint (a hash: a key's window, a buffered
//	                    event, a remembered id); G names its generation
//	prefix{K}:sI        a checkpoint's changes since the one before (a
//	                    string: every operator's entries set and removed)
//	prefix{K}:epoch     the fencing epoch (a counter)
//
// A save writes its changes as one segment and the new head, in one Lua
// call that checks the epoch: Redis copies a string, it does no work per
// entry, so a save holds Redis for about a millisecond even when a second
// of input changed tens of thousands of entries (writing them into the
// hashes in that call held it for 20–30 ms, a stall for every other client).
// After CompactAfter segments, the saver folds them into the hashes in the
// background: in calls of a few hundred entries, each fenced, then one call
// drops the folded segments from the head. A crash midway leaves the head
// listing them: applied again over the hashes, they give the same state.
// An operator's first checkpoint (and one after its state was reset) holds
// every entry: it is written into a new hash, and the head points to it
// when the save commits. A restore reads the hashes and applies the
// segments after them, in order.
//
// Load, which the pipeline calls when a partition is assigned, takes a new
// epoch (INCR); Save applies only while no later epoch was taken, else it
// fails with ErrFenced: the newest owner's checkpoint stays. A checkpoint of
// an earlier release (one string, prefix+K) is still loaded, and removed
// once the partition's first incremental checkpoint is saved.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	// CompactAfter is how many segments a checkpoint keeps before they are
	// folded into its hashes (default 8).
	CompactAfter int

	mu     sync.Mutex
	epochs map[string]int64 // by key: the epoch this store took
	heads  map[string]*head // by key: the checkpoint as saved or loaded
}

// head is what a checkpoint's head key says, and the segments it lists.
type head struct {
	parts  []partRef
	next   uint64    // the next segment's id
	segs   []segment // listed, oldest first (their changes kept to fold them)
	gen    uint64    // the next hash generation
	legacy bool      // loaded from the layout before deltas
}

// partRef is an operator's hash and the first segment that applies to it.
type partRef struct {
	gen   uint64 // its hash's generation: prefix{K}:N:gen
	first uint64 // segments from this id on apply
}

type segment struct {
	id    uint64
	parts []stream.DeltaPart
}

// NewRedis returns a store writing keys under prefix (default
// "checkpoint:").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "checkpoint:"
	}
	return &Redis{rdb: rdb, prefix: prefix, CompactAfter: 8, epochs: map[string]int64{}, heads: map[string]*head{}}
}

// KeepsDeltas implements stream.DeltaCheckpointStore.
func (r *Redis) KeepsDeltas() bool { return true }

func (r *Redis) headKey(key string) string  { return r.prefix + "{" + key + "}" }
func (r *Redis) epochKey(key string) string { return r.headKey(key) + ":epoch" }
func (r *Redis) partKey(key string, i int, gen uint64) string {
	return r.headKey(key) + ":" + strconv.Itoa(i) + ":" + strconv.FormatUint(gen, 10)
}
func (r *Redis) segKey(key string, id uint64) string {
	return r.headKey(key) + ":s" + strconv.FormatUint(id, 10)
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
	name := r.headKey(key)
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
	h := &head{legacy: legacy}
	if !legacy {
		if b, err = h.decode(b); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
	}
	var cp stream.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	if cp.Delta != nil {
		if cp.Delta, err = r.loadDelta(ctx, key, h, cp.Delta.Meta); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	r.heads[key] = h
	r.mu.Unlock()
	return &cp, nil
}

// Header returns the header of key's checkpoint (offset, watermark, the
// sources' offsets; not the operators' entries), or nil if there is none,
// without taking an epoch: for monitoring and tests, beside the process
// that owns the partition.
func (r *Redis) Header(ctx context.Context, key string) (*stream.Checkpoint, error) {
	b, err := r.rdb.Get(ctx, r.headKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h head
	if b, err = h.decode(b); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", r.headKey(key), err)
	}
	var cp stream.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", r.headKey(key), err)
	}
	return &cp, nil
}

// loadDelta reads the hashes and segments h names and returns the state
// they make, every part Full; it keeps the segments' changes in h.
func (r *Redis) loadDelta(ctx context.Context, key string, h *head, meta []byte) (*stream.StateDelta, error) {
	parts := make([]map[string][]byte, len(h.parts))
	for i, p := range h.parts {
		name := r.partKey(key, i, p.gen)
		m, err := r.loadPart(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		parts[i] = m
	}
	for k := range h.segs {
		sg := &h.segs[k]
		name := r.segKey(key, sg.id)
		b, err := r.rdb.Get(ctx, name).Bytes()
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		if sg.parts, err = decodeSegment(b, len(parts)); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		for i := range parts {
			if sg.id >= h.parts[i].first {
				parts[i] = stream.ApplyDelta(parts[i], &sg.parts[i])
			}
		}
	}
	return stream.LoadedDelta(meta, parts), nil
}

// loadPart reads a part's hash: at once when small, by HSCAN when not.
func (r *Redis) loadPart(ctx context.Context, name string) (map[string][]byte, error) {
	n, err := r.rdb.HLen(ctx, name).Result()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		// Every hash holds partMark: this one was deleted or evicted.
		return nil, errors.New("the operator's entries are missing (the key was deleted or evicted)")
	}
	m := make(map[string][]byte, n)
	if n <= 50000 {
		all, err := r.rdb.HGetAll(ctx, name).Result()
		for k, v := range all {
			m[k] = []byte(v)
		}
		delete(m, partMark)
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
			delete(m, partMark)
			return m, nil
		}
	}
}

// partMark is a field every operator hash holds (entries have non-empty
// keys), so that a hash with no entries still exists and one that is gone
// is told apart from an empty one.
const partMark = ""

// acquire takes a new epoch for key.
func (r *Redis) acquire(ctx context.Context, key string) (int64, error) {
	e, err := r.rdb.Incr(ctx, r.epochKey(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: epoch: %w", r.headKey(key), err)
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

// commitScript commits a checkpoint: unless the epoch KEYS[2] is past
// ARGV[1], it sets the head KEYS[1] to ARGV[2], makes the keys written
// for it, KEYS[3 .. 2+ARGV[3]] (a segment, new hashes), persistent and
// unlinks the keys after them (hashes and segments no longer listed).
var commitScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur > tonumber(ARGV[1]) then
  return redis.error_reply('FENCED ' .. cur)
end
local fresh = tonumber(ARGV[3])
for k = 3, 2 + fresh do redis.call('PERSIST', KEYS[k]) end
for k = 3 + fresh, #KEYS do redis.call('UNLINK', KEYS[k]) end
redis.call('SET', KEYS[1], ARGV[2])
return 'OK'
`)

// staleAfter is how long a key written for a checkpoint lives unless the
// checkpoint commits (a save that fails midway, a zombie's, leaves no
// garbage).
const staleAfter = 24 * time.Hour

// foldScript applies entries to a hash KEYS[2] unless the epoch KEYS[1] is
// past ARGV[1]: ARGV[2] deletions, then the puts (key, value).
var foldScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur > tonumber(ARGV[1]) then
  return redis.error_reply('FENCED ' .. cur)
end
local nd = tonumber(ARGV[2])
if nd > 0 then redis.call('HDEL', KEYS[2], unpack(ARGV, 3, 2 + nd)) end
if #ARGV > 2 + nd then redis.call('HSET', KEYS[2], unpack(ARGV, 3 + nd, #ARGV)) end
return 'OK'
`)

// foldChunk is the most arguments of a foldScript call: each holds Redis
// for well under a millisecond.
const foldChunk = 512

// Save commits a checkpoint of key (its delta when cp.Delta is set),
// unless the partition was assigned since this store loaded it
// (ErrFenced). A key never loaded takes an epoch first.
func (r *Redis) Save(ctx context.Context, key string, cp *stream.Checkpoint) error {
	header, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	epoch := r.Epoch(key)
	if epoch == 0 {
		if epoch, err = r.acquire(ctx, key); err != nil {
			return err
		}
	}
	r.mu.Lock()
	h := r.heads[key]
	if h == nil {
		h = &head{}
		r.heads[key] = h
	}
	r.mu.Unlock()
	var parts []stream.DeltaPart
	if cp.Delta != nil {
		parts = cp.Delta.Parts
	}
	for i, p := range parts {
		if slices.ContainsFunc(p.Puts, func(kv stream.KV) bool { return len(kv.Key) == 0 }) || slices.ContainsFunc(p.Dels, func(k []byte) bool { return len(k) == 0 }) {
			return fmt.Errorf("checkpoint %s: part %d: an entry with an empty key", r.headKey(key), i)
		}
	}
	// The new head: a Full part (or one the old head lacks) gets a new
	// hash, the others keep theirs; parts beyond the new count go.
	nh := &head{next: h.next, gen: h.gen, segs: h.segs}
	// This epoch's segment ids and hash generations are its own (a zombie
	// writing beside it never writes the same key) and above those before.
	nh.next, nh.gen = max(nh.next, uint64(epoch)<<32), max(nh.gen, uint64(epoch)<<32)
	keys := []string{r.headKey(key), r.epochKey(key)}
	var fresh, gone []string
	var seg []stream.DeltaPart
	for i, p := range parts {
		if p.Full || i >= len(h.parts) {
			ref := partRef{gen: nh.gen, first: nh.next + 1}
			nh.gen++
			name := r.partKey(key, i, ref.gen)
			if err := r.stage(ctx, name, p.Puts); err != nil {
				return fmt.Errorf("checkpoint %s: %w", name, err)
			}
			fresh = append(fresh, name)
			if i < len(h.parts) {
				gone = append(gone, r.partKey(key, i, h.parts[i].gen))
			}
			nh.parts = append(nh.parts, ref)
			seg = append(seg, stream.DeltaPart{})
			continue
		}
		nh.parts = append(nh.parts, h.parts[i])
		seg = append(seg, stream.DeltaPart{Puts: p.Puts, Dels: p.Dels})
	}
	for i := len(parts); i < len(h.parts); i++ {
		gone = append(gone, r.partKey(key, i, h.parts[i].gen))
	}
	if len(nh.parts) == 0 {
		// No hash to apply segments to: every segment is moot.
		for _, sg := range nh.segs {
			gone = append(gone, r.segKey(key, sg.id))
		}
		nh.segs = nil
	} else if cp.Delta != nil {
		// The segment is written by a plain SET, not in the Lua call: Redis
		// copies megabytes once instead of three times, and the call that
		// commits holds it for microseconds.
		id := nh.next
		nh.next++
		name := r.segKey(key, id)
		if err := r.rdb.Set(ctx, name, encodeSegment(seg), staleAfter).Err(); err != nil {
			return fmt.Errorf("checkpoint %s: %w", name, err)
		}
		fresh = append(fresh, name)
		nh.segs = append(slices.Clip(nh.segs), segment{id: id, parts: seg})
	}
	keys = append(append(keys, fresh...), gone...)
	err = commitScript.Run(ctx, r.rdb, keys, epoch, append(nh.encode(), header...), len(fresh)).Err()
	if err != nil {
		return r.fenced(key, epoch, err)
	}
	r.mu.Lock()
	r.heads[key] = nh
	r.mu.Unlock()
	if h.legacy {
		// The checkpoint of the old layout is superseded.
		if err := r.rdb.Del(ctx, r.prefix+key, r.prefix+key+":epoch").Err(); err != nil {
			return err
		}
	}
	if len(nh.segs) >= max(r.CompactAfter, 1) {
		return r.compact(ctx, key, nh, epoch, header)
	}
	return nil
}

// fenced turns a FENCED reply into ErrFenced.
func (r *Redis) fenced(key string, epoch int64, err error) error {
	if err != nil && strings.HasPrefix(err.Error(), "FENCED ") {
		cur, _ := strconv.ParseInt(strings.TrimPrefix(err.Error(), "FENCED "), 10, 64)
		return fmt.Errorf("%w: the partition was assigned again since this consumer took it (epoch %d of %s, this consumer's %d): this consumer is a zombie, its state is stale", ErrFenced, cur, r.epochKey(key), epoch)
	}
	return err
}

// stage writes a new hash in pipelined chunks; it expires unless a commit
// makes it persistent (a save that fails midway leaves no garbage).
func (r *Redis) stage(ctx context.Context, name string, puts []stream.KV) error {
	pipe := r.rdb.Pipeline()
	pipe.Del(ctx, name)
	pipe.HSet(ctx, name, partMark, "")
	pipe.Expire(ctx, name, staleAfter) // first: a stage that stops midway expires too
	queued := 3
	for i := 0; i < len(puts); i += foldChunk {
		kvs := puts[i:min(len(puts), i+foldChunk)]
		args := make([]any, 0, 2*len(kvs))
		for _, kv := range kvs {
			args = append(args, kv.Key, kv.Value)
		}
		pipe.HSet(ctx, name, args...)
		if queued++; queued >= 64 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
			queued = 0
		}
	}
	_, err := pipe.Exec(ctx)
	return err
}

// compact folds h's segments into its hashes, then drops them from the
// head (see Redis).
func (r *Redis) compact(ctx context.Context, key string, h *head, epoch int64, header []byte) error {
	if err := r.fold(ctx, key, h, epoch); err != nil {
		return err
	}
	nh := &head{next: h.next, gen: h.gen}
	keys := []string{r.headKey(key), r.epochKey(key)}
	for _, p := range h.parts {
		nh.parts = append(nh.parts, partRef{gen: p.gen, first: h.next})
	}
	for _, sg := range h.segs {
		keys = append(keys, r.segKey(key, sg.id))
	}
	if err := r.fenced(key, epoch, commitScript.Run(ctx, r.rdb, keys, epoch, append(nh.encode(), header...), 0).Err()); err != nil {
		return err
	}
	r.mu.Lock()
	r.heads[key] = nh
	r.mu.Unlock()
	return nil
}

// fold writes the net change of h's segments into its hashes, in fenced
// chunks.
func (r *Redis) fold(ctx context.Context, key string, h *head, epoch int64) error {
	epochKey := r.epochKey(key)
	for i, p := range h.parts {
		type change struct {
			v   []byte
			del bool
		}
		net := map[string]change{} // the last change of each entry
		for _, sg := range h.segs {
			if sg.id < p.first {
				continue
			}
			for _, k := range sg.parts[i].Dels {
				net[string(k)] = change{del: true}
			}
			for _, kv := range sg.parts[i].Puts {
				net[string(kv.Key)] = change{v: kv.Value} // an empty value is a value
			}
		}
		if len(net) == 0 {
			continue
		}
		name := r.partKey(key, i, p.gen)
		var dels, puts []any
		flush := func() error {
			args := append(append([]any{epoch, len(dels)}, dels...), puts...)
			dels, puts = dels[:0], puts[:0]
			return r.fenced(key, epoch, foldScript.Run(ctx, r.rdb, []string{epochKey, name}, args...).Err())
		}
		for k, c := range net {
			if c.del {
				dels = append(dels, k)
			} else {
				puts = append(puts, k, c.v)
			}
			if len(dels)+len(puts) >= foldChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if len(dels)+len(puts) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// encode writes the head's part of the head key: the parts (generation,
// first segment), the next segment id and generation, the segments' ids.
func (h *head) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(len(h.parts)))
	for _, p := range h.parts {
		b = binary.AppendUvarint(b, p.gen)
		b = binary.AppendUvarint(b, p.first)
	}
	b = binary.AppendUvarint(b, h.next)
	b = binary.AppendUvarint(b, h.gen)
	b = binary.AppendUvarint(b, uint64(len(h.segs)))
	for _, sg := range h.segs {
		b = binary.AppendUvarint(b, sg.id)
	}
	return b
}

// decode reads what encode wrote and returns the rest (the header).
func (h *head) decode(b []byte) ([]byte, error) {
	var err error
	uv := func() uint64 {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			err = errors.New("bad head")
			return 0
		}
		b = b[k:]
		return v
	}
	n := uv()
	if n > 1<<16 {
		return nil, errors.New("bad head")
	}
	for range n {
		h.parts = append(h.parts, partRef{gen: uv(), first: uv()})
	}
	h.next, h.gen = uv(), uv()
	ns := uv()
	if ns > 1<<20 {
		return nil, errors.New("bad head")
	}
	for range ns {
		h.segs = append(h.segs, segment{id: uv()})
	}
	return b, err
}

// encodeSegment writes a segment: per part, its deletions and puts.
func encodeSegment(parts []stream.DeltaPart) []byte {
	n := 0
	for _, p := range parts {
		for _, k := range p.Dels {
			n += len(k) + 2
		}
		for _, kv := range p.Puts {
			n += len(kv.Key) + len(kv.Value) + 4
		}
	}
	b := binary.AppendUvarint(make([]byte, 0, n+8), uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p.Dels)))
		for _, k := range p.Dels {
			b = appendBytes(b, k)
		}
		b = binary.AppendUvarint(b, uint64(len(p.Puts)))
		for _, kv := range p.Puts {
			b = appendBytes(appendBytes(b, kv.Key), kv.Value)
		}
	}
	return b
}

func appendBytes(b, v []byte) []byte { return append(binary.AppendUvarint(b, uint64(len(v))), v...) }

// decodeSegment reads a segment of nparts parts.
func decodeSegment(b []byte, nparts int) ([]stream.DeltaPart, error) {
	bad := errors.New("bad segment")
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	bytes := func() ([]byte, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(b)) {
			return nil, false
		}
		v := b[:n:n]
		b = b[n:]
		return v, true
	}
	n, ok := uv()
	if !ok || n != uint64(nparts) {
		return nil, bad
	}
	parts := make([]stream.DeltaPart, n)
	for i := range parts {
		nd, ok := uv()
		if !ok || nd > uint64(len(b)) {
			return nil, bad
		}
		for range nd {
			k, ok := bytes()
			if !ok {
				return nil, bad
			}
			parts[i].Dels = append(parts[i].Dels, k)
		}
		np, ok := uv()
		if !ok || np > uint64(len(b)) {
			return nil, bad
		}
		for range np {
			k, ok1 := bytes()
			v, ok2 := bytes()
			if !ok1 || !ok2 {
				return nil, bad
			}
			parts[i].Puts = append(parts[i].Puts, stream.KV{Key: k, Value: v})
		}
	}
	if len(b) != 0 {
		return nil, bad
	}
	return parts, nil
}

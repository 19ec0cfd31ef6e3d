// Package checkpoint stores pipeline checkpoints in Redis, so that a
// partition's state follows it to whichever consumer of the group is
// assigned it next.
package checkpoint

import (
	"context"
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

// Redis is a stream.CheckpointStore on Redis: one string key per partition,
// replaced atomically, fenced by an epoch (key+":epoch"). Load, which the
// pipeline calls when a partition is assigned, takes a new epoch (INCR);
// Save replaces the checkpoint only while no later epoch was taken (one
// Lua call), else it fails with ErrFenced: the newest owner's checkpoint
// stays.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string

	mu     sync.Mutex
	epochs map[string]int64 // by key: the epoch this store took
}

// NewRedis returns a store writing keys prefix+key (prefix default
// "checkpoint:").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "checkpoint:"
	}
	return &Redis{rdb: rdb, prefix: prefix, epochs: map[string]int64{}}
}

// Load takes a new epoch for key (the partition is this consumer's from
// now on) and returns its checkpoint, or nil if there is none.
func (r *Redis) Load(ctx context.Context, key string) (*stream.Checkpoint, error) {
	if _, err := r.acquire(ctx, key); err != nil {
		return nil, err
	}
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp stream.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("checkpoint %s%s: %w", r.prefix, key, err)
	}
	return &cp, nil
}

// acquire takes a new epoch for key.
func (r *Redis) acquire(ctx context.Context, key string) (int64, error) {
	e, err := r.rdb.Incr(ctx, r.prefix+key+":epoch").Result()
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s%s: epoch: %w", r.prefix, key, err)
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

// saveScript sets KEYS[1] to ARGV[1] unless the epoch KEYS[2] is past
// ARGV[2].
var saveScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur > tonumber(ARGV[2]) then
  return redis.error_reply('FENCED ' .. cur)
end
redis.call('SET', KEYS[1], ARGV[1])
return 'OK'
`)

// Save replaces the checkpoint of key, unless the partition was assigned
// since this store loaded it (ErrFenced). A key never loaded takes an
// epoch first.
func (r *Redis) Save(ctx context.Context, key string, cp *stream.Checkpoint) error {
	b, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	epoch := r.Epoch(key)
	if epoch == 0 {
		if epoch, err = r.acquire(ctx, key); err != nil {
			return err
		}
	}
	err = saveScript.Run(ctx, r.rdb, []string{r.prefix + key, r.prefix + key + ":epoch"}, b, epoch).Err()
	if err != nil && strings.HasPrefix(err.Error(), "FENCED ") {
		cur, _ := strconv.ParseInt(strings.TrimPrefix(err.Error(), "FENCED "), 10, 64)
		return fmt.Errorf("%w: the partition was assigned again since this consumer took it (epoch %d of %s%s:epoch, this consumer's %d): this consumer is a zombie, its state is stale", ErrFenced, cur, r.prefix, key, epoch)
	}
	return err
}

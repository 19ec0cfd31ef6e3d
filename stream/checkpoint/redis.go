// Package checkpoint stores pipeline checkpoints in Redis, so that a
// partition's state follows it to whichever consumer of the group is
// assigned it next.
package checkpoint

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// Redis is a stream.CheckpointStore on Redis: one string key per partition,
// replaced atomically by SET.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns a store writing keys prefix+key (prefix default
// "checkpoint:").
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "checkpoint:"
	}
	return &Redis{rdb: rdb, prefix: prefix}
}

// Load returns the checkpoint of key, or nil if there is none.
func (r *Redis) Load(ctx context.Context, key string) (*stream.Checkpoint, error) {
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

// Save replaces the checkpoint of key.
func (r *Redis) Save(ctx context.Context, key string, cp *stream.Checkpoint) error {
	b, err := cp.MarshalBinary()
	if err != nil {
		return err
	}
	return r.rdb.Set(ctx, r.prefix+key, b, 0).Err()
}

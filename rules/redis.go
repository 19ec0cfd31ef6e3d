package rules

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// RedisWatcher reloads a rule set stored as YAML in a Redis string key
// whenever a message arrives on a pub/sub channel (publish anything after
// changing the key; PublishRules does both).
type RedisWatcher struct {
	en      *Engine
	client  redis.UniversalClient
	key     string
	channel string
	cfg     WatchConfig
}

// NewRedisWatcher returns a watcher of key, notified on channel.
func NewRedisWatcher(en *Engine, client redis.UniversalClient, key, channel string, cfg WatchConfig) *RedisWatcher {
	cfg.setDefaults()
	return &RedisWatcher{en: en, client: client, key: key, channel: channel, cfg: cfg}
}

// Run subscribes, loads the key once, then reloads on every message until
// ctx ends. It returns ctx.Err() or the subscription's failure.
func (rw *RedisWatcher) Run(ctx context.Context) error {
	sub := rw.client.Subscribe(ctx, rw.channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		return fmt.Errorf("rules: subscribe %s: %w", rw.channel, err)
	}
	msgs := sub.Channel()
	rw.reload(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-msgs:
			if !ok {
				return errors.New("rules: subscription closed")
			}
			rw.reload(ctx)
		}
	}
}

func (rw *RedisWatcher) reload(ctx context.Context) {
	data, err := rw.client.Get(ctx, rw.key).Bytes()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			err = fmt.Errorf("rules: redis key %s does not exist", rw.key)
		}
		rw.cfg.Logger.Warn("rules redis watcher", "key", rw.key, "err", err)
		rw.cfg.OnReload(rw.en.Live().Version(), err)
		return
	}
	err = rw.en.Reload("redis:"+rw.key, data)
	rw.cfg.OnReload(rw.en.Live().Version(), err)
}

// PublishRules stores a YAML rule set under key and notifies channel.
func PublishRules(ctx context.Context, client redis.UniversalClient, key, channel string, data []byte) error {
	if err := client.Set(ctx, key, data, 0).Err(); err != nil {
		return fmt.Errorf("rules: set %s: %w", key, err)
	}
	if err := client.Publish(ctx, channel, key).Err(); err != nil {
		return fmt.Errorf("rules: publish %s: %w", channel, err)
	}
	return nil
}

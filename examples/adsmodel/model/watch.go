package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
)

// WatchConfig configures a Watcher. Zero values mean the defaults.
type WatchConfig struct {
	// Prefix goes before model:ads. Default "".
	Prefix string
	// Interval between version checks. Default 5s.
	Interval time.Duration
	// Clock drives the checks. Default: the system clock.
	Clock stream.Clock
	// Notify also subscribes to the channel <prefix>model:ads, on which
	// Publish announces each version, and checks at once on a message; the
	// polling stays as the fallback for a missed message.
	Notify bool
	// OnChange, if set, is called (from Run's goroutine, or Check's caller)
	// with each newly loaded model.
	OnChange func(*Model)
	// Logger; nil discards.
	Logger *slog.Logger
}

func (c *WatchConfig) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Watcher keeps the live model of a long-running process current: Run polls
// the version of <prefix>model:ads and loads a new model when it changes.
// Model and Score are safe to call from any goroutine.
type Watcher struct {
	rdb redis.UniversalClient
	cfg WatchConfig
	cur atomic.Pointer[Model]
}

// NewWatcher returns a watcher of the model in rdb; it holds no model until
// Check or Run has loaded one.
func NewWatcher(rdb redis.UniversalClient, cfg WatchConfig) *Watcher {
	cfg.setDefaults()
	return &Watcher{rdb: rdb, cfg: cfg}
}

// Model is the live model, or nil when none is loaded.
func (w *Watcher) Model() *Model { return w.cur.Load() }

// Score scores x with the live model; ok is false (and the score 0) when
// no model is loaded.
func (w *Watcher) Score(x Features) (score float64, ok bool) {
	m := w.cur.Load()
	if m == nil {
		return 0, false
	}
	return m.Score(x), true
}

// Check loads the model if its version differs from the live one and
// reports whether it did. No published model is not an error.
func (w *Watcher) Check(ctx context.Context) (bool, error) {
	key := w.cfg.Prefix + Key
	v, err := w.rdb.HGet(ctx, key, "version").Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("model: watch %s: %w", key, err)
	}
	if cur := w.cur.Load(); cur != nil && strconv.FormatInt(cur.Version, 10) == v {
		return false, nil
	}
	m, err := Load(ctx, w.rdb, w.cfg.Prefix)
	if err != nil {
		return false, err
	}
	w.cur.Store(m)
	w.cfg.Logger.Info("loaded model", "key", key, "version", m.Version, "test_error", m.TestError)
	if w.cfg.OnChange != nil {
		w.cfg.OnChange(m)
	}
	return true, nil
}

// Run checks at once, then every Interval (and on each announcement, with
// Notify), until ctx ends; it returns ctx.Err(). A failed check is logged
// and retried at the next tick, keeping the live model.
func (w *Watcher) Run(ctx context.Context) error {
	tick, stop := w.cfg.Clock.NewTicker(w.cfg.Interval)
	defer stop()
	var notes <-chan *redis.Message
	if w.cfg.Notify {
		ps := w.rdb.Subscribe(ctx, w.cfg.Prefix+Key)
		defer ps.Close()
		// Wait for the subscription, so that no version published after
		// the first check goes unannounced.
		if _, err := ps.Receive(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.cfg.Logger.Warn("model: subscribe failed; polling only", "err", err)
		} else {
			notes = ps.Channel()
		}
	}
	for {
		if _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("model check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
		case <-notes:
		}
	}
}

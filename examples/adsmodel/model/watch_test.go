package model

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func TestWatcherPicksUpNewModel(t *testing.T) {
	rdb, prefix := testRedis(t)
	rows, res := trained(t, 300)
	clock := stream.NewManualClock(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	loaded := make(chan *Model, 4)
	w := NewWatcher(rdb, WatchConfig{Prefix: prefix, Interval: time.Minute, Clock: clock, OnChange: func(m *Model) { loaded <- m }})
	if _, ok := w.Score(rows[0].X); ok || w.Model() != nil {
		t.Fatal("a model before any was published")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Publish(ctx, rdb, res, rows, PublishConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	wait := func(version int64) *Model {
		t.Helper()
		select {
		case m := <-loaded:
			if m.Version != version {
				t.Fatalf("loaded version %d, want %d", m.Version, version)
			}
			return m
		case <-ctx.Done():
			t.Fatalf("version %d was not loaded", version)
		}
		return nil
	}
	wait(1) // Run checks at once
	if s, ok := w.Score(rows[0].X); !ok || s != res.Model.Score(rows[0].X) {
		t.Fatalf("score %v %v, want %v", s, ok, res.Model.Score(rows[0].X))
	}

	// A retrained model (flipped, so every score changes) is published
	// while the watcher runs; the next tick loads it.
	next := *res
	flipped := *res.Model
	flipped.Intercept, flipped.Weights = -flipped.Intercept, Features{}
	for i, x := range res.Model.Weights {
		flipped.Weights[i] = -x
	}
	next.Model = &flipped
	if _, err := Publish(ctx, rdb, &next, rows[:1], PublishConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	m := wait(2)
	if m.Weights != flipped.Weights || w.Model() != m {
		t.Fatalf("live model %+v, want weights %v", w.Model(), flipped.Weights)
	}
	if s, _ := w.Score(rows[0].X); s != flipped.Score(rows[0].X) {
		t.Errorf("score %v after the update, want %v", s, flipped.Score(rows[0].X))
	}
	// An unchanged version loads nothing.
	if changed, err := w.Check(ctx); changed || err != nil {
		t.Errorf("Check with the same version: %v %v", changed, err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

// A broken model in Redis is reported and the live one kept.
func TestWatcherKeepsModelOnBadUpdate(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	rows, res := trained(t, 300)
	if _, err := Publish(ctx, rdb, res, rows[:1], PublishConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(rdb, WatchConfig{Prefix: prefix})
	if changed, err := w.Check(ctx); !changed || err != nil {
		t.Fatalf("first check: %v %v", changed, err)
	}
	rdb.HSet(ctx, prefix+Key, "version", 9, "weights", "1,2")
	if changed, err := w.Check(ctx); changed || err == nil {
		t.Fatalf("bad update: %v %v", changed, err)
	}
	if w.Model() == nil || w.Model().Version != 1 {
		t.Fatalf("live model %+v, want version 1 kept", w.Model())
	}
}

// With Notify, a publish is picked up at once, without a tick.
func TestWatcherNotify(t *testing.T) {
	rdb, prefix := testRedis(t)
	rows, res := trained(t, 300)
	clock := stream.NewManualClock(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	loaded := make(chan *Model, 4)
	w := NewWatcher(rdb, WatchConfig{Prefix: prefix, Interval: time.Hour, Clock: clock, Notify: true, OnChange: func(m *Model) { loaded <- m }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for v := int64(1); v <= 3; v++ {
		if _, err := Publish(ctx, rdb, res, rows[:1], PublishConfig{Prefix: prefix}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-loaded:
			// The first model may be found by the first check, before the
			// announcement; later ones only by the announcement.
			if m.Version != v {
				t.Fatalf("loaded version %d, want %d", m.Version, v)
			}
		case <-ctx.Done():
			t.Fatalf("version %d not picked up without a tick", v)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

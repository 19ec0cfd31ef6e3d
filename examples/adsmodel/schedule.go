package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/stream"
)

// historyTimeout bounds the append of an attempt to the history, which runs
// even when the run's context has ended.
const historyTimeout = 5 * time.Second

// trainer makes training attempts: each one reads the data, trains,
// publishes when the held-out error is under -threshold, and appends its
// outcome to <prefix>model:ads:history.
type trainer struct {
	o     *options
	rdb   redis.UniversalClient
	out   io.Writer
	clock stream.Clock
	n     int // attempts made
}

// attempt makes one attempt. It returns the attempt as recorded and the
// error that kept the model from being published (a *model.RefusedError
// when it was trained but not under the threshold), joined with a failure
// to record it.
func (t *trainer) attempt(ctx context.Context) (model.Attempt, error) {
	t.n++
	start := t.clock.Now()
	a := model.Attempt{At: start.UTC(), Threshold: t.o.threshold}
	// Generated data changes with each attempt, as new plays would.
	pub, err := t.train(ctx, t.o.seed+uint64(t.n-1), &a)
	var refused *model.RefusedError
	switch {
	case err == nil:
		a.Outcome, a.Published, a.Version = model.OutcomePublished, true, pub.Model.Version
		a.Reason = fmt.Sprintf("held-out error %.2f%% is under the threshold %.2f%%", *a.Error*100, a.Threshold*100)
	case errors.As(err, &refused):
		a.Outcome = model.OutcomeRefused
		a.Reason = fmt.Sprintf("held-out error %.2f%% is not under the threshold %.2f%%", refused.TestError*100, refused.Threshold*100)
	default:
		a.Outcome, a.Reason = model.OutcomeFailed, err.Error()
	}
	a.Duration = t.clock.Now().Sub(start)
	// Recorded even when ctx ended during the attempt.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyTimeout)
	defer cancel()
	id, herr := model.AppendHistory(hctx, t.rdb, t.o.prefix, a)
	a.ID = id
	if a.Published {
		fmt.Fprintf(t.out, "published %s%s version %d: %d pred_event keys, pred_event set on %d customer hashes (%d absent)\n",
			t.o.prefix, model.Key, pub.Model.Version, pub.Predictions, pub.Customers, pub.Missing)
	}
	fmt.Fprintf(t.out, "attempt %d at %s: %s: %s\n", t.n, a.At.Format(time.RFC3339), a.Outcome, a.Reason)
	if herr != nil {
		fmt.Fprintf(t.out, "attempt %d not recorded: %v\n", t.n, herr)
	} else {
		fmt.Fprintf(t.out, "recorded in %s%s as %s\n", t.o.prefix, model.HistoryKey, id)
	}
	if t.o.onAttempt != nil {
		t.o.onAttempt(a)
	}
	if herr != nil {
		return a, errors.Join(err, herr)
	}
	return a, err
}

// train reads the data (generated ones from seed), trains and publishes,
// filling in a's rows and error as they become known.
func (t *trainer) train(ctx context.Context, seed uint64, a *model.Attempt) (model.Published, error) {
	rows, err := loadRows(t.o, seed, t.out)
	if err != nil {
		return model.Published{}, fmt.Errorf("read data: %w", err)
	}
	a.Rows = len(rows)
	res, err := model.Train(rows, model.TrainConfig{Seed: t.o.seed, Now: t.clock.Now})
	if err != nil {
		return model.Published{}, fmt.Errorf("train: %w", err)
	}
	a.Error = &res.TestError
	fmt.Fprintf(t.out, "trained on %d customers, held out %d: error %.2f%% (train %.2f%%), threshold %.2f%%\n",
		len(res.Train), len(res.Test), res.TestError*100, res.TrainError*100, t.o.threshold*100)
	fmt.Fprintf(t.out, "model: %v\n", res.Model)
	pub, err := model.Publish(ctx, t.rdb, res, rows, model.PublishConfig{Prefix: t.o.prefix, Threshold: t.o.threshold})
	var refused *model.RefusedError
	if err != nil && !errors.As(err, &refused) {
		err = fmt.Errorf("publish: %w", err)
	}
	return pub, err
}

// schedule makes an attempt at once, then one every period (on t.clock)
// until ctx ends, and returns nil then. A failed or refused attempt leaves
// the published model in place (Publish writes nothing unless the model is
// under the threshold) and is recorded with its reason; the next attempt
// comes at the next tick. An attempt under way when ctx ends is finished,
// so that no publish is cut in half; ticks that pass during an attempt are
// dropped.
func (t *trainer) schedule(ctx context.Context, every time.Duration) error {
	tick, stop := t.clock.NewTicker(every)
	defer stop()
	fmt.Fprintf(t.out, "retraining every %s; every attempt is recorded in %s%s\n", every, t.o.prefix, model.HistoryKey)
	for {
		// The error is printed by attempt and recorded in the history.
		_, _ = t.attempt(context.WithoutCancel(ctx))
		select {
		case <-ctx.Done():
			fmt.Fprintf(t.out, "stopped after %d attempts\n", t.n)
			return nil
		case <-tick:
		}
	}
}

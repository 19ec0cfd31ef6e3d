package worker_test

import (
	"context"
	"errors"
	"github.com/rulestream/rulestream/internal/testredis"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/smsworker/worker"
	"github.com/rulestream/rulestream/targets"
)

// signalHandler is a slog handler that signals every warning.
type signalHandler struct{ c chan struct{} }

func (h *signalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *signalHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.c <- struct{}{}:
	default:
	}
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }

// TestWorkerSurvivesRedisRestart kills Redis while the worker sends and
// restarts it: the worker retries, and every entry is sent and acked.
func TestWorkerSurvivesRedisRestart(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()
	ctx := testCtx(t)
	const total = 200
	ids := addEntries(t, rdb, "queue:sms", total)

	retried := &signalHandler{c: make(chan struct{}, 1000)}
	rec := newRecorder()
	reached, resume := make(chan struct{}), make(chan struct{})
	n := 0
	w, err := worker.New(rdb, worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		if n++; n == 50 {
			close(reached)
			<-resume // Redis dies while this SMS is being sent: its XACK must survive
		}
		rec.record(m.EntryID)
		return nil
	}), worker.Config{Consumer: "a", Count: 10, Block: 20 * time.Millisecond, Logger: slog.New(retried),
		Retry: targets.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	srv.Stop()
	close(resume)
	select { // the XACK of the 50th SMS fails: wait for the worker to retry it
	case <-retried.c:
	case <-ctx.Done():
		t.Fatal("the worker never retried")
	}
	srv.Restart(t)
	seen := 0
	for {
		missing := 0
		for _, id := range ids {
			if rec.count(id) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		waitSends(ctx, t, rec.note, 1)
		seen++
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled after riding out the restart", err)
	}
	if p := pending(t, rdb, "queue:sms", "smsworker"); p != 0 {
		t.Errorf("%d entries pending after the restart", p)
	}
	st := w.Stats()
	if st.Acked != total || st.Sent != total || st.AckMiss != 0 || st.RedisRetries == 0 {
		t.Errorf("stats %+v: want every entry sent and acked once, after retried Redis calls", st)
	}
	t.Logf("stats after the restart: %+v (%d sends)", st, seen)
}

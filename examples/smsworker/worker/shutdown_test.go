package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/smsworker/worker"
)

// TestWorkerGracefulShutdown cancels a worker while an SMS is being sent:
// that SMS is acked, the rest of the batch stays pending, and a restart
// under the same name sends exactly what is left.
func TestWorkerGracefulShutdown(t *testing.T) {
	rdb, px := testRedis(t)
	ctx := testCtx(t)
	ids := addEntries(t, rdb, px+"queue:sms", 30)
	rec := newRecorder()
	started, release := make(chan struct{}), make(chan struct{})
	n := 0
	slow := worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		n++
		if n == 5 {
			close(started)
			<-release // shutdown begins while this SMS is in flight
		}
		rec.record(m.EntryID)
		return nil
	})
	cfg := worker.Config{Stream: px + "queue:sms", Consumer: "a", Count: 16, Block: 20 * time.Millisecond}
	w, _ := worker.New(rdb, slow, cfg)
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(runCtx) }()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("no send started")
	}
	cancel() // shutdown while the fifth SMS is in flight
	close(release)
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	st := w.Stats()
	if st.Sent != 5 || st.Acked != 5 {
		t.Fatalf("first run: sent %d, acked %d: a sent SMS must be acked before stopping", st.Sent, st.Acked)
	}
	left := pending(t, rdb, px+"queue:sms", "smsworker")
	t.Logf("stopped after %d sends with %d entries pending", st.Sent, left)

	w2, _ := worker.New(rdb, worker.SenderFunc(func(_ context.Context, m worker.SMS) error {
		rec.record(m.EntryID)
		return nil
	}), cfg)
	stop2 := run(t, w2)
	waitSends(ctx, t, rec.note, len(ids)) // both runs' sends
	_ = stop2()
	for _, id := range ids {
		if c := rec.count(id); c != 1 {
			t.Errorf("entry %s sent %d times, want exactly once after a graceful stop", id, c)
		}
	}
	if p := pending(t, rdb, px+"queue:sms", "smsworker"); p != 0 {
		t.Errorf("%d entries still pending", p)
	}
}

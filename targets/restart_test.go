package targets_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// crashHook lets pipeline number at reach Redis, then kills Redis before
// the reply is read (the sink sees a lost connection) and signals crashed.
type crashHook struct {
	n       atomic.Int64
	at      int64
	crash   func()
	crashed chan struct{}
}

func (h *crashHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *crashHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *crashHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if h.n.Add(1) == h.at {
			h.crash()
			close(h.crashed)
			lost := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset (test crash)")}
			for _, c := range cmds {
				c.SetErr(lost)
			}
			return lost
		}
		return err
	}
}

// TestRedisRestartMidBatch kills Redis right after it applied a batch whose
// reply the sink never gets, restarts it on the same port, and checks that
// every event is in the stream exactly once.
func TestRedisRestartMidBatch(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer rdb.Close()
	hook := &crashHook{at: 20, crashed: make(chan struct{}), crash: srv.Stop}
	rdb.AddHook(hook)

	const total = 10000
	s, err := targets.NewRedis(rdb, targets.Config{Name: "ads",
		Writes: []targets.Write{targets.XAdd("queue:ads")},
		Batch:  targets.BatchPolicy{Count: 200, Period: -1}, ChunkSize: 50,
		Retry: targets.Backoff{Initial: 2 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		evs := make([]stream.Event, 0, 100)
		for i := 0; i < total; i++ {
			evs = append(evs, emission("ads", "upgrade_ad", i))
			if len(evs) == cap(evs) {
				if err := s.Write(ctx, evs); err != nil {
					done <- err
					return
				}
				evs = evs[:0]
			}
		}
		done <- s.Close(ctx)
	}()
	select {
	case <-hook.crashed:
	case err := <-done:
		t.Fatalf("writer ended before the crash: %v", err)
	}
	srv.Restart(t) // the sink is retrying meanwhile
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	xs, err := rdb.XRange(ctx, "queue:ads", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range xs {
		id := fmt.Sprint(x.Values["event_id"])
		if seen[id] {
			t.Errorf("event %s written twice", id)
		}
		seen[id] = true
	}
	if len(xs) != total || len(seen) != total {
		t.Fatalf("stream holds %d entries (%d distinct), want %d", len(xs), len(seen), total)
	}
	st := s.Stats()
	if st.Failures == 0 || st.ScriptLoads == 0 || st.Duplicates == 0 {
		t.Errorf("stats %+v: want failures, a script reload and the applied-but-unacknowledged batch skipped", st)
	}
	t.Logf("stats after the restart: %+v", st)
}

// TestScriptsFlushedKeepOrder: after Redis lost its scripts (a restart, a
// failover, SCRIPT FLUSH), a batch mixing a script the sink believes loaded
// (A) and a new one (B, loaded just before the batch) must still be applied
// in order, not B before the A chunks that met NOSCRIPT.
func TestScriptsFlushedKeepOrder(t *testing.T) {
	srv := testredis.Start(t) // its own server: SCRIPT FLUSH would disturb other packages
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := context.Background()
	a := stream.MustSchema("a", stream.Field{Name: "n", Kind: stream.KindInt}, stream.Field{Name: "x", Kind: stream.KindString})
	b := stream.MustSchema("b", stream.Field{Name: "n", Kind: stream.KindInt}, stream.Field{Name: "y", Kind: stream.KindString})
	ev := func(s *stream.Schema, n int) stream.Event {
		return stream.Event{Schema: s, ID: strconv.Itoa(n), Fields: []stream.Value{stream.Int(int64(n)), stream.String("v")}}
	}
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd("q")},
		Batch: targets.BatchPolicy{Count: 100, Period: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []stream.Event{ev(a, 1), ev(a, 2)}); err != nil { // A loaded
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []stream.Event{ev(a, 3), ev(b, 4), ev(a, 5)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range rdb.XRange(ctx, "q", "-", "+").Val() {
		got = append(got, m.Values["n"].(string))
	}
	if strings.Join(got, ",") != "1,2,3,4,5" {
		t.Fatalf("stream order %v, want 1..5", got)
	}
}

// TestFlightOutlivesWriteContext: a caller may cancel the context of a Write
// as soon as it returns; the batch that Write started must still be written.
// Close under an expired context returns instead of waiting for a batch that
// cannot be written (Redis gone).
func TestFlightOutlivesWriteContext(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{targets.XAdd("q")},
		Batch: targets.BatchPolicy{Count: 2, Period: -1},
		Retry: targets.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i += 2 {
		ctx, cancel := context.WithCancel(context.Background())
		err := s.Write(ctx, []stream.Event{emission("ads", "r", i), emission("ads", "r", i+1)})
		cancel()
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rdb.XLen(context.Background(), "q").Val(); n != 6 || s.Pending() != 0 {
		t.Fatalf("stream holds %d entries (want 6), %d pending", n, s.Pending())
	}

	srv.Stop() // Redis gone: the next batch retries without end (MaxAttempts 0)
	if err := s.Write(context.Background(), []stream.Event{emission("ads", "r", 6), emission("ads", "r", 7)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with Redis gone: %v, want the deadline", err)
	}
	if s.Pending() != 2 {
		t.Fatalf("pending %d after the failed close, want 2", s.Pending())
	}
}

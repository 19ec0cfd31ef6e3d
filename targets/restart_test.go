package targets_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/rulestream/rulestream/internal/testredis"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

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
	if os.Getenv("RULESTREAM_TEST_REDIS") == "" && os.Getenv("CI") != "true" {
		t.Skip("RULESTREAM_TEST_REDIS not set: skipping the Redis tests (run scripts/test)")
	}
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

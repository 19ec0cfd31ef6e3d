package targets_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// Many batches of outputs in input order, two in flight at a time on the
// sink's connection: every output is written once, none skipped (a batch
// that wrote before the one before it had skipped that one's outputs).
func TestSeqPipelinedBatches(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		s := originSink(t, rdb, px, func(c *targets.Config) { c.Batch.Count, c.ChunkSize = 100, 30 })
		evs := inOrder(stream.NewOrigin("job/plays/9", 1, -1), 0, 5000)
		putInputs(t, s, evs, 7)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if n := len(xids(t, rdb, px+"q:ads")); n != len(evs) {
			t.Fatalf("%d entries, want %d; stats %+v", n, len(evs), st)
		}
	})
}

// The sink's own connection killed between batches: the next batch fails
// on it, is retried on a new one, and every output is written once.
func TestSeqConnectionKilled(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		if be.Name == "cluster" {
			t.Skip("plain transactions are for one Redis")
		}
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		s := rvSink(t, rdb, px, 100, 30, func(c *targets.Config) {
			c.Retry = targets.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, MaxAttempts: 20}
		})
		o := stream.NewOrigin("job/plays/8", 1, -1)
		putInputs(t, s, inOrder(o, 0, 500), 7)
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			t.Fatal(err)
		}
		putInputs(t, s, inOrder(o, 500, 1000), 7)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n, want := len(xids(t, rdb, px+"q:ads")), len(inOrder(o, 0, 1000)); n != want {
			t.Fatalf("%d entries, want %d", n, want)
		}
	})
}

// The sink's connection killed again and again while batches are in
// flight (between any two replies): every output is written exactly once.
func TestSeqConnectionKilledInFlight(t *testing.T) {
	testredis.Run(t, func(t *testing.T, be testredis.Backend) {
		if be.Name == "cluster" {
			t.Skip("plain transactions are for one Redis")
		}
		rdb, px := be.Client(t, testDB)
		ctx := context.Background()
		s := rvSink(t, rdb, px, 64, 16, nil)
		stop := make(chan struct{})
		killed := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					killed <- n
					return
				case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond): // the pace of the kills, not a wait
				}
				if rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err() == nil {
					n++
				}
			}
		}()
		o := stream.NewOrigin("job/plays/10", 1, -1)
		evs := inOrder(o, 0, 20000)
		putInputs(t, s, evs, 13)
		err := s.Close(ctx)
		close(stop)
		t.Logf("%d kills", <-killed)
		if err != nil {
			t.Fatal(err)
		}
		if ids := xids(t, rdb, px+"q:ads"); len(ids) != len(evs) {
			var miss []string
			for _, ev := range evs {
				id := ev.Fields[3].Text() + ":" + ev.Fields[2].Text()
				if !ids[id] {
					miss = append(miss, fmt.Sprint(ev.Seq))
				}
			}
			t.Fatalf("%d entries, want %d; missing seqs %v", len(ids), len(evs), miss)
		}
	})
}

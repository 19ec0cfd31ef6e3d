package enrich

import (
	"bytes"

	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
)

// TestOutageBackpressureAndResume stops the Redis server in the middle of a
// run and restarts it on the same port: the lookup holds its batch back
// (the source blocks), reports degraded, resumes by itself, and every event
// comes out joined to its record.
func TestOutageBackpressureAndResume(t *testing.T) {
	srv := testredis.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	ctx := testCtx(t)
	_, cust, _ := genFiles(t, gen.Config{Seed: 11, Customers: 1000, Tracks: 1, Plays: -1})
	if _, err := LoadTable(ctx, client, bytes.NewReader(cust), custTable, LoadConfig{}); err != nil {
		t.Fatal(err)
	}
	health := make(chan Health, 16)
	cfg := customerLookup("")
	cfg.Backoff = Backoff{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.OnHealth = func(h Health) { health <- h }
	l, err := NewLookup(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, sink := stream.NewChanSource("plays"), stream.NewCollectSink()
	p := stream.New("outage", stream.Config{Buffer: 1}).From(src).Via(l).To(sink)
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	const batches, size = 20, 50
	batch := func(b int) stream.Batch {
		ids := make([]int64, size)
		for k := range ids {
			ids[k] = int64(b*size + k)
		}
		evs := playEvents(ids, make([]int64, size))
		for k := range evs {
			evs[k].Fields[0] = stream.Int(ids[k]) // event_id = customer id
			evs[k].Time = ids[k] * int64(time.Second)
		}
		return stream.Batch{Events: evs}
	}
	for b := range 8 {
		src.C <- batch(b)
	}
	if err := sink.WaitFor(ctx, 8*size); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for b := 8; b < batches; b++ {
			select {
			case src.C <- batch(b):
			case <-ctx.Done():
				return
			}
		}
		close(src.C)
	}()
	h := <-health
	if !h.Degraded || h.Err == "" || !l.Health().Degraded {
		t.Fatalf("health %+v while Redis is down", h)
	}
	if n := sink.Len(); n != 8*size {
		t.Fatalf("%d events passed while Redis was down, want %d (held back)", n, 8*size)
	}
	srv.Restart(t)
	if h := <-health; h.Degraded {
		t.Fatalf("health %+v after restart", h)
	}
	<-fed
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	got := sink.Events()
	if len(got) != batches*size {
		t.Fatalf("%d events out, want %d", len(got), batches*size)
	}
	seen := make(map[int64]bool)
	for _, ev := range got {
		id := ev.Fields[0].Int()
		rec, _ := ev.Joined("customer")
		if rec == nil || rec.Get("id").Int() != id {
			t.Fatalf("event %d joined %v", id, rec)
		}
		seen[id] = true
	}
	if len(seen) != batches*size {
		t.Fatalf("%d distinct events, want %d", len(seen), batches*size)
	}
	if l.Health().Degraded {
		t.Error("still degraded")
	}
}

package enrich

import (
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// The near memo serves exactly what the cache holds: a Set, an
// Invalidate, a Purge or an expiry is seen by the very next event, and
// hits keep the cache's counters and reference bits.
func TestNearMemoFollowsCache(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	clk := stream.NewManualClock(time.Unix(1000, 0))
	cache, err := NewCache(CacheConfig{MaxEntries: 64, TTL: time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	cfg := customerLookup(prefix)
	cfg.Cache = cache
	l, err := NewLookup(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.HSet(ctx, prefix+"customer:7", "id", "7", "name", "redis").Err(); err != nil {
		t.Fatal(err)
	}
	rec := func(name string) *stream.Record {
		return &stream.Record{Schema: gen.CustomerSchema, Values: []stream.Value{stream.Int(7), stream.String(name)}}
	}
	name := func(step string) string {
		t.Helper()
		out := process(t, l, playEvents([]int64{7}, []int64{1}))
		if len(out) != 1 {
			t.Fatalf("%s: %d events out", step, len(out))
		}
		r, _ := out[0].Joined("customer")
		return r.Get("name").Str()
	}
	cache.Set("7", rec("first"))
	for range 3 {
		if got := name("cached"); got != "first" {
			t.Fatalf("cached: name %q, want first", got)
		}
	}
	cache.Set("7", rec("second"))
	if got := name("after Set"); got != "second" {
		t.Fatalf("after Set: name %q, want second", got)
	}
	cache.Invalidate("7")
	if got := name("after Invalidate"); got != "redis" {
		t.Fatalf("after Invalidate: name %q, want the Redis hash's", got)
	}
	cache.Set("7", rec("third"))
	if got := name("set again"); got != "third" {
		t.Fatalf("set again: name %q, want third", got)
	}
	cache.Purge()
	if got := name("after Purge"); got != "redis" {
		t.Fatalf("after Purge: name %q, want the Redis hash's", got)
	}
	cache.Set("7", rec("fourth"))
	name("memoised")
	clk.Advance(2 * time.Minute) // past the TTL
	if err := client.HSet(ctx, prefix+"customer:7", "name", "refetched").Err(); err != nil {
		t.Fatal(err)
	}
	if got := name("after expiry"); got != "refetched" {
		t.Fatalf("after expiry: name %q, want the refetched hash's", got)
	}
	st := cache.Stats()
	if st.Hits != 6 || st.Misses != 3 {
		t.Fatalf("stats %+v: want 6 hits and 3 misses", st)
	}
	// A memo hit marks the entry referenced, as a cache hit does.
	s := cache.shard("7")
	s.mu.RLock()
	v := s.m["7"]
	s.refs[v.slot].Store(false)
	s.mu.RUnlock()
	name("hit")
	if !s.refs[v.slot].Load() {
		t.Fatal("a memo hit left the cache entry unreferenced")
	}
}

package enrich

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

func newTestCache(t *testing.T, cfg CacheConfig) (*Cache, *stream.ManualClock) {
	t.Helper()
	clock := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clock
	c, err := NewCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

func rec(id int64) *stream.Record {
	return &stream.Record{Schema: gen.TrackSchema, Values: []stream.Value{stream.Int(id), {}, {}, {}}}
}

func TestCacheBoundedWithClockEviction(t *testing.T) {
	c, _ := newTestCache(t, CacheConfig{MaxEntries: 100})
	for i := range 100 {
		c.Set(strconv.Itoa(i), rec(int64(i)))
	}
	// Read the first half: they are referenced and survive the next inserts.
	for i := range 50 {
		if r, ok := c.Get(strconv.Itoa(i)); !ok || r.Get("id").Int() != int64(i) {
			t.Fatalf("miss on %d", i)
		}
	}
	for i := 100; i < 150; i++ {
		c.Set(strconv.Itoa(i), rec(int64(i)))
	}
	if n := c.Len(); n > 100 {
		t.Fatalf("%d entries, bound 100", n)
	}
	for i := range 50 {
		if _, ok := c.Get(strconv.Itoa(i)); !ok {
			t.Errorf("recently read %d evicted", i)
		}
	}
	for i := 1000; i < 3000; i++ {
		c.Set(strconv.Itoa(i), nil)
	}
	if st := c.Stats(); st.Entries > 100 || st.Evictions < 1900 {
		t.Errorf("stats %+v", st)
	}
}

func TestCacheTTLAndNegative(t *testing.T) {
	c, clock := newTestCache(t, CacheConfig{TTL: time.Minute, NegativeTTL: time.Second})
	c.Set("a", rec(1))
	c.Set("gone", nil)
	if r, ok := c.Get("gone"); !ok || r != nil {
		t.Fatal("negative entry not cached")
	}
	clock.Advance(time.Second)
	if _, ok := c.Get("gone"); ok {
		t.Error("negative entry outlived NegativeTTL")
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("entry expired early")
	}
	clock.Advance(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Error("entry outlived TTL")
	}
	off, _ := newTestCache(t, CacheConfig{NegativeTTL: -1})
	off.Set("gone", nil)
	if _, ok := off.Get("gone"); ok {
		t.Error("negative caching not disabled")
	}
	if _, err := NewCache(CacheConfig{MaxEntries: -1}); err == nil {
		t.Error("negative MaxEntries accepted")
	}
}

func TestCacheInvalidateDuringFetch(t *testing.T) {
	c, _ := newTestCache(t, CacheConfig{})
	mine := newFlight()
	_, hit, _, leader := c.lookupOrJoin("7", 0, mine)
	_, _, _, leader8 := c.lookupOrJoin("8", 0, mine)
	if hit || !leader || !leader8 {
		t.Fatal("first caller does not lead")
	}
	other := newFlight()
	_, _, ref, leader2 := c.lookupOrJoin("7", 0, other)
	if leader2 || ref.f != mine || len(other.ids) != 0 {
		t.Fatal("second caller does not join the flight")
	}
	c.Invalidate("7") // the value being fetched may predate this change
	c.land(mine, []*stream.Record{rec(7), rec(8)}, []error{nil, nil}, nil)
	if r, err := ref.wait(context.Background()); err != nil || r.Get("id").Int() != 7 {
		t.Fatalf("waiter got %v %v", r, err)
	}
	if _, ok := c.Get("7"); ok {
		t.Error("a fetch older than an invalidation was cached")
	}
	if _, ok := c.Get("8"); !ok {
		t.Error("a clean fetch was not cached")
	}
	mine = newFlight()
	c.lookupOrJoin("7", 0, mine)
	c.land(mine, []*stream.Record{rec(7)}, []error{nil}, nil)
	if _, ok := c.Get("7"); !ok {
		t.Error("a clean fetch was not cached")
	}
	c.Purge()
	if c.Len() != 0 {
		t.Error("purge left entries")
	}
}

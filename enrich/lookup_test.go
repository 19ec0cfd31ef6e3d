package enrich

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// countHook counts pipelines and HMGET commands sent to Redis.
type countHook struct {
	pipelines, hmgets atomic.Int64
	mu                sync.Mutex
	perKey            map[string]int
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.count(cmds)
		return next(ctx, cmds)
	}
}

func (h *countHook) count(cmds []redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perKey == nil {
		h.perKey = map[string]int{}
	}
	for _, c := range cmds {
		if c.Name() == "hmget" {
			h.hmgets.Add(1)
			key, _ := c.Args()[1].(string)
			if p, ok := c.Args()[1].(*string); ok {
				key = *p
			}
			h.perKey[key]++
		}
	}
}

// loadGen loads generated customers and tracks under prefix.
func loadGen(t *testing.T, client redis.UniversalClient, prefix string, customers, tracks int) *gen.Data {
	t.Helper()
	d, cust, music := genFiles(t, gen.Config{Seed: 3, Customers: customers, Tracks: tracks, Plays: -1})
	if _, err := LoadTable(testCtx(t), client, bytes.NewReader(cust), custTable, LoadConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTable(testCtx(t), client, bytes.NewReader(music), trackTable, LoadConfig{Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	return d
}

func process(t *testing.T, op stream.Operator, evs []stream.Event) []stream.Event {
	t.Helper()
	var out stream.Emitter
	if err := op.Process(testCtx(t), evs, &out); err != nil {
		t.Fatal(err)
	}
	return out.Events()
}

func TestLookupJoinsTypedRecords(t *testing.T) {
	client, prefix := testClient(t)
	d := loadGen(t, client, prefix, 200, 50)
	hook := &countHook{}
	client.AddHook(hook)
	clock := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ccfg := customerLookup(prefix)
	ccfg.Clock = clock
	ccfg.CacheConfig = CacheConfig{TTL: time.Minute, NegativeTTL: 10 * time.Second}
	cust, err := NewLookup(client, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := trackLookup(prefix)
	tcfg.Clock = clock
	track, err := NewLookup(client, tcfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{5, 7, 5, 999, 12}
	tracks := []int64{1, 2, 3, 4, 4000}
	out := process(t, track, process(t, cust, playEvents(ids, tracks)))
	if len(out) != 5 {
		t.Fatalf("%d events out", len(out))
	}
	if got := hook.pipelines.Load(); got != 2 {
		t.Errorf("%d pipelines for two lookups of one batch, want 2", got)
	}
	if got := hook.hmgets.Load(); got != 4+5 {
		t.Errorf("%d HMGETs, want 9 (distinct ids only)", got)
	}
	for i, ev := range out {
		rec, ok := ev.Joined("customer")
		if !ok {
			t.Fatalf("event %d: no customer join", i)
		}
		if ids[i] == 999 {
			if rec != nil {
				t.Errorf("unknown customer joined %v", rec)
			}
			continue
		}
		c := d.Customers[ids[i]]
		if rec.Get("id").Int() != c.ID || rec.Get("level").Kind() != stream.KindInt || rec.Get("level").Int() != int64(c.Level) ||
			rec.Get("name").Str() != c.Name || rec.Get("sign_date").Str() != c.SignDate.Format("2006-01-02") {
			t.Errorf("event %d: customer %v, want %+v", i, rec.Values, c)
		}
		if !rec.Get("pred_event").IsNull() || !rec.Get("age_band").IsNull() {
			t.Errorf("fields absent from the hash are not null: %v", rec.Values)
		}
		tr, _ := ev.Joined("track")
		if tracks[i] == 4000 {
			if tr != nil {
				t.Errorf("unknown track joined")
			}
		} else if tr.Get("title").Str() != d.Tracks[tracks[i]].Title || tr.Get("length").Int() != int64(d.Tracks[tracks[i]].Length) {
			t.Errorf("event %d: track %v", i, tr.Values)
		}
	}
	// Same ids again: hits and negative hits, no round trip.
	process(t, cust, playEvents(ids, tracks))
	if got := hook.pipelines.Load(); got != 2 {
		t.Errorf("cached batch went to Redis: %d pipelines", got)
	}
	// The unknown id is forgotten after NegativeTTL, the known ones after TTL.
	clock.Advance(11 * time.Second)
	process(t, cust, playEvents(ids, tracks))
	if got := hook.hmgets.Load(); got != 10 {
		t.Errorf("%d HMGETs after the negative TTL, want 10", got)
	}
	clock.Advance(time.Minute)
	process(t, cust, playEvents(ids, tracks))
	if got := hook.hmgets.Load(); got != 14 {
		t.Errorf("%d HMGETs after the TTL, want 14", got)
	}
	st := cust.Cache().Stats()
	if st.Hits == 0 || st.Misses == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestLookupUnknownPolicies(t *testing.T) {
	client, prefix := testClient(t)
	loadGen(t, client, prefix, 20, 5)
	ids := []int64{1, 500, 2, 501}
	drop := customerLookup(prefix)
	drop.Unknown = DropUnknown
	l, err := NewLookup(client, drop)
	if err != nil {
		t.Fatal(err)
	}
	out := process(t, l, playEvents(ids, make([]int64, 4)))
	if len(out) != 2 || out[0].Fields[1].Int() != 1 || out[1].Fields[1].Int() != 2 {
		t.Fatalf("drop: %d events", len(out))
	}

	// Dead letters go through a real pipeline to its dead-letter sink.
	dl := customerLookup(prefix)
	dl.Unknown = DeadLetterUnknown
	l, err = NewLookup(client, dl)
	if err != nil {
		t.Fatal(err)
	}
	evs := playEvents(append(ids, 0), make([]int64, 5))
	evs[4].Fields[1] = stream.Null()
	events, dead := stream.NewCollectSink(), stream.NewCollectSink()
	p := stream.New("dl", stream.Config{}).From(stream.NewSliceSource("plays", evs, 10)).Via(l).To(events).DeadLetter(dead)
	if err := p.Run(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if events.Len() != 2 || dead.Len() != 3 {
		t.Fatalf("%d events, %d dead letters (%+v)", events.Len(), dead.Len(), p.Stats())
	}
	var reasons []string
	for _, ev := range dead.Events() {
		reasons = append(reasons, ev.Get("reason").Str())
	}
	all := strings.Join(reasons, "|")
	for _, want := range []string{"enrich customer: no hash " + prefix + "customer:500", "enrich customer: no hash " + prefix + "customer:501", "enrich customer: no customer_id"} {
		if !strings.Contains(all, want) {
			t.Errorf("dead-letter reasons %q lack %q", all, want)
		}
	}
}

func TestLookupBadHashes(t *testing.T) {
	client, prefix := testClient(t)
	ctx := testCtx(t)
	client.HSet(ctx, prefix+"customer:1", "id", "1", "level", "gold", "name", "Zoë")
	client.Set(ctx, prefix+"customer:2", "not a hash", 0)
	l, err := NewLookup(client, customerLookup(prefix))
	if err != nil {
		t.Fatal(err)
	}
	out := process(t, l, playEvents([]int64{1, 2}, []int64{0, 0}))
	rec, _ := out[0].Joined("customer")
	if rec == nil || rec.Get("name").Str() != "Zoë" || !rec.Get("level").IsNull() || rec.Get("id").Int() != 1 {
		t.Errorf("customer 1: %v", rec)
	}
	if rec, ok := out[1].Joined("customer"); !ok || rec != nil {
		t.Errorf("customer 2 (not a hash): %v", rec)
	}
	if _, ok := l.Cache().Get("2"); ok {
		t.Error("a key error was cached")
	}
}

// TestLookupSharedCacheSingleFlight runs several lookups sharing one cache
// from several goroutines over the same ids: each key is fetched once.
func TestLookupSharedCacheSingleFlight(t *testing.T) {
	client, prefix := testClient(t)
	loadGen(t, client, prefix, 300, 5)
	hook := &countHook{}
	client.AddHook(hook)
	cache, err := NewCache(CacheConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 300 {
		ids = append(ids, int64(i))
	}
	var wg sync.WaitGroup
	for g := range 6 {
		cfg := customerLookup(prefix)
		cfg.Cache = cache
		l, err := NewLookup(client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for off := 0; off < 300; off += 50 {
				batch := make([]int64, 50)
				for k := range batch {
					batch[k] = ids[(off+k*7+g*13)%300]
				}
				var out stream.Emitter
				if err := l.Process(context.Background(), playEvents(batch, make([]int64, 50)), &out); err != nil {
					t.Error(err)
					return
				}
				for _, ev := range out.Events() {
					if rec, _ := ev.Joined("customer"); rec == nil || rec.Get("id").Int() != ev.Fields[1].Int() {
						t.Errorf("wrong join %v for %v", rec, ev.Fields[1])
					}
				}
			}
		}()
	}
	wg.Wait()
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for k, n := range hook.perKey {
		if n != 1 {
			t.Errorf("%s fetched %d times", k, n)
		}
	}
	if len(hook.perKey) != 300 {
		t.Errorf("%d keys fetched, want 300", len(hook.perKey))
	}
}

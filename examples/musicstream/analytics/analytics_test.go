package analytics

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// oracle computes the expected keys from the plays directly: no windows,
// no Redis, one pass over the deduplicated plays.
func oracle(d *gen.Data, ageBands bool, topZips, topTracks int) map[string]map[string]int64 {
	want := map[string]map[string]int64{}
	add := func(key, field string, n int64) {
		if want[key] == nil {
			want[key] = map[string]int64{}
		}
		want[key][field] += n
	}
	cust := map[int64]gen.Customer{}
	for _, c := range d.Customers {
		cust[c.ID] = c
	}
	seen := map[int64]bool{}
	listeners := map[string]map[int64]bool{}
	for _, p := range d.Plays {
		if seen[p.EventID] {
			continue
		}
		seen[p.EventID] = true
		h, day := p.Time.UTC().Format("2006010215"), p.Time.UTC().Format("20060102")
		add("plays:hour:"+h, "plays", 1)
		if p.Mobile {
			add("plays:hour:"+h, "mobile", 1)
		} else {
			add("plays:hour:"+h, "desktop", 1)
		}
		if listeners[h] == nil {
			listeners[h] = map[int64]bool{}
		}
		listeners[h][p.CustomerID] = true
		add("zip:hour:"+h, p.Zip, 1)
		add("zip:day:"+day, p.Zip, 1)
		add("track:hour:"+h, strconv.FormatInt(p.TrackID, 10), 1)
		level, gender := "unknown", "unknown"
		if p.CustomerID%50 != 7 {
			c := cust[p.CustomerID]
			level, gender = strconv.Itoa(c.Level), strconv.Itoa(c.Gender)
			if ageBands && c.ID%3 == 0 {
				add("age:hour:"+h, ageBand(c.ID), 1)
			}
		}
		add("level:hour:"+h, level, 1)
		add("gender:hour:"+h, gender, 1)
	}
	for h, ls := range listeners {
		want["plays:hour:"+h]["listeners"] = int64(len(ls))
		for _, f := range []string{"mobile", "desktop"} {
			if _, ok := want["plays:hour:"+h][f]; !ok {
				want["plays:hour:"+h][f] = 0
			}
		}
	}
	for k, m := range want {
		switch {
		case len(k) > 4 && k[:4] == "zip:":
			want[k] = topN(m, topZips)
		case len(k) > 6 && k[:6] == "track:":
			want[k] = topN(m, topTracks)
		}
	}
	return want
}

// topN keeps the n greatest entries by (count, member), as Redis ranks them.
func topN(m map[string]int64, n int) map[string]int64 {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k > all[j].k
	})
	out := map[string]int64{}
	for i := 0; i < len(all) && i < n; i++ {
		out[all[i].k] = all[i].v
	}
	return out
}

// runPipeline runs the plays through dedup and a Parallel of the analytics
// and a pass-through branch, partitioned by customer.
func runPipeline(t *testing.T, rdb redis.UniversalClient, prefix string, evs []stream.Event, cfg Config) ([]*Analytics, int) {
	return runLanes(t, rdb, prefix, evs, cfg, 1)
}

// runLanes is runPipeline with lanes (stream.Config.Parallelism).
func runLanes(t *testing.T, rdb redis.UniversalClient, prefix string, evs []stream.Event, cfg Config, lanes int) ([]*Analytics, int) {
	t.Helper()
	cfg.Prefix = prefix
	var ops []*Analytics
	var mu sync.Mutex
	f, err := NewFactory(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := stream.NewCollectSink()
	p := stream.New("analytics-test", stream.Config{OutOfOrderness: 2 * time.Minute, IdleTimeout: -1, Parallelism: lanes}).
		From(stream.NewSliceSource("plays", evs, 500)).
		ViaPartitioned(func(pid stream.PartitionID) ([]stream.Operator, error) {
			dedup, err := window.NewDedup(window.DedupConfig{Field: "event_id"})
			if err != nil {
				return nil, err
			}
			a, err := f.New(pid)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			ops = append(ops, a)
			mu.Unlock()
			return []stream.Operator{dedup, stream.Parallel(a, stream.Map(func(*stream.Event) bool { return true }))}, nil
		}).To(sink)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ops, sink.Len()
}

func checkAgainst(t *testing.T, rdb *redis.Client, prefix string, want map[string]map[string]int64) {
	t.Helper()
	ctx := context.Background()
	for key, fields := range want {
		got := map[string]int64{}
		switch rdb.Type(ctx, prefix+"stats:"+key).Val() {
		case "hash":
			for f, v := range rdb.HGetAll(ctx, prefix+"stats:"+key).Val() {
				n, _ := strconv.ParseInt(v, 10, 64)
				got[f] = n
			}
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, prefix+"stats:"+key, 0, -1).Val() {
				got[fmt.Sprint(z.Member)] = int64(z.Score)
			}
		default:
			t.Errorf("%s: missing", key)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(fields) {
			t.Errorf("%s:\n got %v\nwant %v", key, got, fields)
		}
	}
}

func TestAnalyticsMatchesOracle(t *testing.T) {
	rdb, prefix := testRedis(t)
	d := genData(12000)
	evs := enriched(d, 3, true)
	ops, passed := runPipeline(t, rdb, prefix, evs, Config{})
	unique := len(d.Plays) - d.Duplicates
	if passed != unique {
		t.Fatalf("the pass-through branch delivered %d events, want %d (the analytics branch must emit nothing)", passed, unique)
	}
	if len(ops) != 3 {
		t.Fatalf("%d partitions, want 3", len(ops))
	}
	var plays int64
	for _, a := range ops {
		st := a.Stats()
		plays += st.Plays
		if st.WriteErrors != 0 || st.Pending != 0 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
	}
	if plays != int64(unique) {
		t.Errorf("analytics consumed %d plays, want %d", plays, unique)
	}
	want := oracle(d, true, 20, 20)
	checkAgainst(t, rdb, prefix, want)

	// No key beyond what the oracle expects, except partials and indexes.
	ctx := context.Background()
	r := NewReader(rdb, prefix)
	hours, err := r.Hours(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var nHours int
	var total int64
	for k := range want {
		if len(k) > 11 && k[:11] == "plays:hour:" {
			nHours++
		}
	}
	for _, h := range hours {
		total += h.Plays
	}
	if len(hours) != nHours || total != int64(unique) {
		t.Errorf("Reader.Hours: %d hours, %d plays; want %d hours, %d plays", len(hours), total, nHours, unique)
	}
	days, err := r.Buckets(ctx, "days", 10)
	if err != nil || len(days) < 2 {
		t.Fatalf("days %v %v: the data spans more than a day", days, err)
	}
	top, err := r.Top(ctx, "zip:day:"+days[0], 5)
	if err != nil || len(top) != 5 || top[0].Plays < top[4].Plays {
		t.Errorf("Top: %v %v", top, err)
	}
	lv, err := r.Breakdown(ctx, "level", []string{hours[0].Hour, hours[1].Hour})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, n := range lv {
		sum += n
	}
	if sum != hours[0].Plays+hours[1].Plays {
		t.Errorf("levels sum to %d over two hours, plays %d", sum, hours[0].Plays+hours[1].Plays)
	}
}

func TestAnalyticsWithoutAgeBands(t *testing.T) {
	rdb, prefix := testRedis(t)
	d := genData(3000)
	runPipeline(t, rdb, prefix, enriched(d, 0, false), Config{TopZips: -1, TopTracks: 5})
	checkAgainst(t, rdb, prefix, oracle(d, false, 1<<30, 5))
	ctx := context.Background()
	if keys := rdb.Keys(ctx, prefix+"stats:age:*").Val(); len(keys) != 0 {
		t.Errorf("age keys without age bands: %v", keys)
	}
	if parts := rdb.SMembers(ctx, prefix+"stats:partitions").Val(); fmt.Sprint(parts) != "[0.-1]" {
		t.Errorf("partitions %v, want [0.-1]", parts)
	}
}

func TestAnalyticsIdempotent(t *testing.T) {
	rdb, prefix := testRedis(t)
	d := genData(4000)
	runPipeline(t, rdb, prefix, enriched(d, 2, true), Config{})
	first := dump(t, rdb, prefix)
	runPipeline(t, rdb, prefix, enriched(d, 2, true), Config{})
	second := dump(t, rdb, prefix)
	if len(first) == 0 || fmt.Sprint(first) != fmt.Sprint(second) {
		t.Fatalf("rewriting the same windows changed the content: %d keys, then %d", len(first), len(second))
	}
}

func TestAnalyticsWithLanes(t *testing.T) {
	rdb, prefix := testRedis(t)
	d := genData(6000)
	ops, _ := runLanes(t, rdb, prefix, enriched(d, 2, true), Config{}, 3)
	if len(ops) != 6 {
		t.Fatalf("%d operators, want 2 partitions x 3 lanes", len(ops))
	}
	checkAgainst(t, rdb, prefix, oracle(d, true, 20, 20))
	parts := rdb.SMembers(context.Background(), prefix+"stats:partitions").Val()
	sort.Strings(parts)
	if fmt.Sprint(parts) != "[0.0.l0 0.0.l1 0.0.l2 0.1.l0 0.1.l1 0.1.l2]" {
		t.Errorf("partitions %v", parts)
	}

	// New alone cannot tell its lane: it refuses to start.
	a, err := New(rdb, stream.PartitionID{}, Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), stream.Env{Config: stream.Config{Parallelism: 2}}); err == nil {
		t.Error("New started in a pipeline of 2 lanes")
	}
}

package window_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

var testAggs = []window.Aggregate{
	window.Count("n"), window.Sum("sum", "track_id"), window.Min("min", "track_id"), window.Max("max", "track_id"),
	window.First("first", "track_id"), window.Last("last", "track_id"), window.DistinctCount("distinct", "track_id"),
}

// oracleAggs computes testAggs over the plays of one window directly.
func oracleAggs(ps []play) map[string]stream.Value {
	var sum, mn, mx int64 = 0, 1 << 62, -1 << 62
	first, last := ps[0], ps[0]
	set := map[int64]bool{}
	for _, p := range ps {
		sum += p.track
		mn, mx = min(mn, p.track), max(mx, p.track)
		if p.t < first.t || (p.t == first.t && p.track < first.track) {
			first = p
		}
		if p.t > last.t || (p.t == last.t && p.track > last.track) {
			last = p
		}
		set[p.track] = true
	}
	return map[string]stream.Value{"n": stream.Int(int64(len(ps))), "sum": stream.Int(sum), "min": stream.Int(mn),
		"max": stream.Int(mx), "first": stream.Int(first.track), "last": stream.Int(last.track), "distinct": stream.Int(int64(len(set)))}
}

type owin struct {
	key        int64
	start, end int64
	ps         []play
}

func oracleLines(ws []owin) []string {
	slices.SortFunc(ws, func(a, b owin) int {
		return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.key, b.key), cmp.Compare(a.start, b.start))
	})
	var ls []string
	for _, w := range ws {
		first, last := w.ps[0].t, w.ps[0].t
		for _, p := range w.ps {
			first, last = min(first, p.t), max(last, p.t)
		}
		ls = append(ls, windowLine(&stream.WindowInfo{Key: fmt.Sprint(w.key), Start: w.start, End: w.end,
			Count: int64(len(w.ps)), First: first, Last: last, Aggs: oracleAggs(w.ps)}))
	}
	return ls
}

// oracleTime assigns each play to every window [s, s+size) containing it,
// with s on the slide grid.
func oracleTime(ps []play, size, slide time.Duration) []string {
	m := map[[2]int64]*owin{}
	for _, p := range ps {
		for s := p.t - p.t%int64(slide) - int64(size); s <= p.t; s += int64(slide) {
			if p.t >= s && p.t < s+int64(size) {
				k := [2]int64{p.cust, s}
				if m[k] == nil {
					m[k] = &owin{key: p.cust, start: s, end: s + int64(size)}
				}
				m[k].ps = append(m[k].ps, p)
			}
		}
	}
	var ws []owin
	for _, w := range m {
		ws = append(ws, *w)
	}
	return oracleLines(ws)
}

// oracleSessions splits each key's sorted plays where consecutive times are
// gap or more apart.
func oracleSessions(ps []play, gap time.Duration) []string {
	by := map[int64][]play{}
	for _, p := range dedupPlays(ps) {
		by[p.cust] = append(by[p.cust], p)
	}
	var ws []owin
	for k, l := range by {
		cur := owin{key: k, start: l[0].t}
		for i, p := range l {
			if i > 0 && p.t-l[i-1].t >= int64(gap) {
				cur.end = l[i-1].t + int64(gap)
				ws = append(ws, cur)
				cur = owin{key: k, start: p.t}
			}
			cur.ps = append(cur.ps, p)
		}
		cur.end = l[len(l)-1].t + int64(gap)
		ws = append(ws, cur)
	}
	return oracleLines(ws)
}

// oracleCountWithin: for each play in (time, id) order, count the plays of
// its key after the last match (all plays when overlapping) within span of
// it; n of them make a match.
func oracleCountWithin(ps []play, n int, span time.Duration, overlap bool) []string {
	type match struct {
		t, id int64
		line  string
	}
	var ms []match
	by := map[[2]int64][]play{}
	for _, p := range dedupPlays(ps) {
		by[[2]int64{p.cust, p.track}] = append(by[[2]int64{p.cust, p.track}], p)
	}
	for k, l := range by {
		after := -1
		for i, p := range l {
			cnt := 0
			for j := after + 1; j <= i; j++ {
				if p.t-l[j].t <= int64(span) {
					cnt++
				}
			}
			if cnt >= n {
				first := l[i-n+1].t
				w := &stream.WindowInfo{Key: fmt.Sprintf("%d|%d", k[0], k[1]), Start: first, End: p.t, Count: int64(n), First: first, Last: p.t}
				ms = append(ms, match{p.t, p.id, windowLine(w) + fmt.Sprintf(" by=%d", p.id)})
				if !overlap {
					after = i
				}
			}
		}
	}
	slices.SortFunc(ms, func(a, b match) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	var ls []string
	for _, m := range ms {
		ls = append(ls, m.line)
	}
	return ls
}

func diff(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: results differ from the oracle\n got (%d):\n  %s\nwant (%d):\n  %s", what, len(got),
			fmtLines(got), len(want), fmtLines(want))
	}
}

func fmtLines(ls []string) string {
	s := ""
	for _, l := range ls {
		s += l + "\n  "
	}
	return s
}

const bound = 20 * time.Minute // out-of-orderness of the property tests

// TestOracle runs each window kind on random plays delivered out of order
// (within the bound) with duplicates, for many seeds and two arrival orders
// per seed, and compares the emitted sequence with a brute-force oracle.
func TestOracle(t *testing.T) {
	kinds := []struct {
		name   string
		op     func() stream.Operator
		oracle func(ps []play) []string
		byID   bool
	}{
		{"tumbling", func() stream.Operator {
			return must(window.NewTumbling(window.TumblingConfig{WindowConfig: winCfg(), Size: 30 * time.Minute}))
		}, func(ps []play) []string { return oracleTime(ps, 30*time.Minute, 30*time.Minute) }, false},
		{"sliding", func() stream.Operator {
			return must(window.NewSliding(window.SlidingConfig{WindowConfig: winCfg(), Size: 30 * time.Minute, Slide: 10 * time.Minute}))
		}, func(ps []play) []string { return oracleTime(ps, 30*time.Minute, 10*time.Minute) }, false},
		{"session", func() stream.Operator {
			return must(window.NewSessions(window.SessionConfig{WindowConfig: winCfg(), Gap: 7 * time.Minute}))
		}, func(ps []play) []string { return oracleSessions(ps, 7*time.Minute) }, false},
		{"count_within", func() stream.Operator { return must(window.NewCountWithin(cwCfg(false))) },
			func(ps []play) []string { return oracleCountWithin(ps, 3, 30*time.Minute, false) }, true},
		{"count_within_overlap", func() stream.Operator { return must(window.NewCountWithin(cwCfg(true))) },
			func(ps []play) []string { return oracleCountWithin(ps, 3, 30*time.Minute, true) }, true},
	}
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			total, dups := 0, int64(0)
			for seed := range uint64(seeds) {
				r := rand.New(rand.NewPCG(seed, 7))
				ps := randomPlays(r, 20+r.IntN(60), 3*time.Hour)
				want := k.oracle(ps)
				total += len(want)
				for try := range 2 {
					res, st := drive(t, r, k.op(), arrival(r, ps, 0.3, bound), bound)
					if st.Late != 0 {
						t.Fatalf("seed %d: %d events late within the out-of-orderness", seed, st.Late)
					}
					dups += st.Duplicates
					diff(t, fmt.Sprintf("seed %d arrival %d", seed, try), lines(res, k.byID), want)
				}
			}
			if dups == 0 {
				t.Fatal("no duplicate was delivered: the test proves nothing about dedup")
			}
			if total == 0 {
				t.Fatal("the oracle expected no result at all: the test proves nothing")
			}
		})
	}
}

func winCfg() window.WindowConfig {
	return window.WindowConfig{Name: "w", KeyBy: []string{"customer_id"}, Aggs: testAggs, Dedup: "event_id"}
}

func cwCfg(overlap bool) window.CountWithinConfig {
	return window.CountWithinConfig{Name: "w", KeyBy: []string{"customer_id", "track_id"}, Count: 3,
		Within: 30 * time.Minute, Dedup: "event_id", AllowOverlap: overlap}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

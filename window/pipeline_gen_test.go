package window_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// End to end through a stream.Pipeline: generated plays with planted
// repeats and near misses, duplicate deliveries and out-of-order arrival.
// The matches equal the oracle's, every planted pair matches and no near
// miss does unless base plays happen to complete it.
func TestPipelineGeneratedPlays(t *testing.T) {
	d := gen.Generate(gen.Config{Seed: 3, Plays: 20000, Customers: 300, Tracks: 200, Repeats: 40, NearMisses: 40,
		Duplicates: 0.05, MaxDelay: 2 * time.Minute})
	op := must(window.NewCountWithin(window.CountWithinConfig{Name: "repeats", KeyBy: []string{"customer_id", "track_id"},
		Count: 3, Within: 30 * time.Minute, Dedup: "event_id"}))
	sink := stream.NewCollectSink()
	p := stream.New("gen", stream.Config{OutOfOrderness: 2 * time.Minute}).
		From(stream.NewSliceSource("plays", gen.PlayEvents("tracks.csv", d.Plays), 500)).Via(op).To(sink)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	uniq := map[int64]play{}
	for _, pl := range d.Plays {
		uniq[pl.EventID] = play{id: pl.EventID, cust: pl.CustomerID, track: pl.TrackID, t: pl.Time.UnixNano()}
	}
	var ps []play
	for _, pl := range uniq {
		ps = append(ps, pl)
	}
	var got []string
	matched := map[string]bool{}
	for _, ev := range sink.Events() {
		w := *ev.Window
		got = append(got, fmt.Sprintf("%s %d..%d by=%d", w.Key, w.Start, w.End, ev.Get("event_id").Int()))
		matched[w.Key] = true
	}
	var want []string
	for _, l := range oracleCountWithin(ps, 3, 30*time.Minute, false) {
		var key string
		var s, e, by int64
		if _, err := fmt.Sscanf(l, "%s %d..%d", &key, &s, &e); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Sscanf(l[strings.LastIndex(l, "by="):], "by=%d", &by); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s %d..%d by=%d", key, s+base, e+base, by))
	}
	diff(t, "pipeline", got, want)
	for _, pat := range d.Planted {
		if !matched[fmt.Sprintf("%d|%d", pat.CustomerID, pat.TrackID)] {
			t.Fatalf("planted pattern %d|%d did not match", pat.CustomerID, pat.TrackID)
		}
	}
	missed := 0
	for _, pat := range d.NearMisses {
		if !matched[fmt.Sprintf("%d|%d", pat.CustomerID, pat.TrackID)] {
			missed++
		}
	}
	if missed == 0 {
		t.Fatal("every near miss matched: the span boundary is not exercised")
	}
	if st := op.Stats(); st.Duplicates != int64(d.Duplicates) || st.Late != 0 {
		t.Fatalf("stats %+v, %d duplicates delivered", st, d.Duplicates)
	}
}

package rules

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// joinCustomers is a test enrichment: it joins generated customers (with
// pred_event = id odd) and tracks by id.
func joinCustomers(d *gen.Data) stream.Operator {
	custs := map[int64]*stream.Record{}
	for _, c := range d.Customers {
		r := customer(c.ID, int64(c.Level), int64(c.Status), stream.Int(c.ID%2))
		custs[c.ID] = r
	}
	return stream.Map(func(ev *stream.Event) bool {
		ev.SetJoin("customer", custs[ev.Get("customer_id").Int()])
		ev.SetJoin("track", track(ev.Get("track_id").Int()))
		return true
	})
}

// repeatsOp is a test count-within operator: it passes plays through and,
// when a (customer, track) pair reaches 3 plays within 30 minutes, also
// emits a window result named "repeats".
func repeatsOp() stream.Operator {
	times := map[[2]int64][]int64{}
	return stream.OperatorFunc(func(_ context.Context, in []stream.Event, out *stream.Emitter) error {
		for _, ev := range in {
			out.Emit(ev)
			k := [2]int64{ev.Get("customer_id").Int(), ev.Get("track_id").Int()}
			var kept []int64
			for _, t := range times[k] {
				if ev.Time-t <= int64(30*time.Minute) {
					kept = append(kept, t)
				}
			}
			kept = append(kept, ev.Time)
			times[k] = kept
			if len(kept) >= 3 {
				w := ev
				w.Window = &stream.WindowInfo{Name: "repeats", Kind: "count_within", Count: int64(len(kept)),
					First: kept[0], Last: ev.Time, Start: kept[0], End: ev.Time}
				out.Emit(w)
			}
		}
		return nil
	})
}

func TestBacktest(t *testing.T) {
	d := gen.Generate(gen.Config{Seed: 3, Customers: 60, Tracks: 400, Plays: 3000, Repeats: 6, NearMisses: 4})
	var csv bytes.Buffer
	if err := gen.WritePlays(&csv, d.Plays); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plays.csv")
	if err := os.WriteFile(path, csv.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	src := stream.NewFileSource(path, gen.PlayDecoder(), stream.FileConfig{BatchSize: 256})
	rep, err := Backtest(context.Background(), set, src, BacktestConfig{Upstream: []stream.Operator{joinCustomers(d), repeatsOp()}, Samples: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Oracle: the data spans less than the 24h cooldown, so upgrade_ad fires
	// once per eligible customer who played, sms_offer once per eligible
	// customer with an odd id.
	levels := map[int64]gen.Customer{}
	for _, c := range d.Customers {
		levels[c.ID] = c
	}
	ads, sms, plays := map[int64]bool{}, map[int64]bool{}, map[int64]int{}
	for _, p := range d.Plays {
		c := levels[p.CustomerID]
		plays[p.CustomerID]++
		if c.Level < 2 && c.Status == 1 {
			ads[p.CustomerID] = true
			if c.ID%2 == 1 {
				sms[p.CustomerID] = true
			}
		}
	}
	if rep.Events != int64(len(d.Plays)) || rep.Version != "demo-1" || len(rep.Rules) != 3 {
		t.Fatalf("report %+v", rep)
	}
	interest, ad, so := rep.Rules[0], rep.Rules[1], rep.Rules[2]
	if ad.Firings != int64(len(ads)) || ad.Keys != len(ads) || ad.Errors != 0 {
		t.Errorf("upgrade_ad %+v, want %d firings and keys", ad, len(ads))
	}
	var suppressed int64
	for id := range ads {
		suppressed += int64(plays[id] - 1)
	}
	if ad.Suppressed != suppressed {
		t.Errorf("upgrade_ad suppressed %d, want %d", ad.Suppressed, suppressed)
	}
	if so.Firings != int64(len(sms)) || so.Keys != len(sms) || so.Target != "sms" {
		t.Errorf("sms_offer %+v, want %d", so, len(sms))
	}
	planted := map[string]bool{}
	for _, p := range d.Planted {
		planted[stream.Int(p.CustomerID).Text()] = true
	}
	if interest.Firings < int64(len(d.Planted)) || interest.Keys < len(planted) || len(interest.Samples) != 2 {
		t.Errorf("interest %+v, want at least %d firings (planted)", interest, len(d.Planted))
	}
	var out strings.Builder
	if err := rep.Format(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"backtest of rule set demo-1 over " + stream.Int(int64(len(d.Plays))).Text() + " events", "rule        target    firings", "upgrade_ad  ads", "  sms_offer sms_offer:"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

package rules

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// shedEngine is the demo engine logging to logs on a manual clock.
func shedEngine(t *testing.T) (*Engine, *bytes.Buffer, *stream.ManualClock) {
	t.Helper()
	logs := &bytes.Buffer{}
	clk := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	en := demoEngine(t, EngineConfig{IDField: "event_id", Clock: clk, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return en, logs, clk
}

// plays of customers 1 to 4 (active, below Gold: upgrade_ad fires, with a
// 24h cooldown) at minute c + offset.
func shedPlays(id int64, offset time.Duration) []stream.Event {
	var evs []stream.Event
	for c := int64(1); c <= 4; c++ {
		evs = append(evs, enriched(id+c, c, 3, time.Duration(c)*time.Minute+offset, customer(c, 1, 1, stream.Null())))
	}
	return evs
}

func advance(t *testing.T, en *Engine, wm int64) {
	t.Helper()
	if err := en.Advance(context.Background(), wm, nil); err != nil {
		t.Fatal(err)
	}
}

// Shed drops the oldest cooldowns at the next call: those keys fire again
// within their cooldown, the others stay held back. Counted and logged.
func TestShedCooldowns(t *testing.T) {
	en, logs, _ := shedEngine(t)
	if got := targets(process(t, en, shedPlays(0, 0)...)); got != "ads/upgrade_ad:1:1 ads/upgrade_ad:2:2 ads/upgrade_ad:3:3 ads/upgrade_ad:4:4" {
		t.Fatalf("first plays: %s", got)
	}
	en.Shed(0.5)
	if s := en.Stats(); s.Cooldowns != 4 || s.Evictions != 0 {
		t.Fatalf("Shed alone changed the state: %+v", s)
	}
	advance(t, en, t0.Add(time.Hour).UnixNano())
	if s := en.Stats(); s.Cooldowns != 2 || s.Evictions != 2 {
		t.Fatalf("after shedding half: %+v", s)
	}
	if l := logs.String(); strings.Count(l, "level=WARN") != 1 || !strings.Contains(l, "memory budget") ||
		!strings.Contains(l, "evictions_total=2") {
		t.Fatalf("log:\n%s", l)
	}
	if got := targets(process(t, en, shedPlays(10, 2*time.Hour)...)); got != "ads/upgrade_ad:1:11 ads/upgrade_ad:2:12" {
		t.Fatalf("customers 1 and 2 lost their cooldown, 3 and 4 kept it; fired: %s", got)
	}
	if s := en.Stats(); s.Rule("upgrade_ad").Suppressed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// Across rules, the rule whose oldest entry ends first goes first (ties by
// name); within a rule, the firing order; superseded entries are skipped.
func TestCooldownsShedOrder(t *testing.T) {
	c := newCooldowns()
	a, b, z := c.rule("a"), c.rule("b"), c.rule("z")
	k := func(n int64) coolKey { return coolKey{n: n, isInt: true} }
	c.allow(a, k(1), 0, 10)          // ends 10
	c.allow(b, k(1), 5, 15)          // ends 20
	c.allow(a, k(2), 20, 10)         // ends 30
	c.allow(a, k(1), 25, 10)         // key 1 again: ends 35, its first entry is superseded
	c.allow(b, textKey("x"), 25, 15) // ends 40
	c.allow(z, k(9), 10, 10)         // ends 20: ties with b's, after it by name
	// Five entries; the oldest three: b's key 1 (20), z's key 9 (20), a's
	// key 2 (30), not a's key 1, whose entry ending at 10 was superseded.
	if n := c.shed(3); n != 3 || c.len() != 2 {
		t.Fatalf("shed %d, %d left", n, c.len())
	}
	if got := a.all(); len(got) != 1 || got["1"] != 35 {
		t.Fatalf("rule a: %v", got)
	}
	if got, gz := b.all(), z.all(); len(got) != 1 || got["x"] != 40 || len(gz) != 0 {
		t.Fatalf("rule b: %v, z: %v", got, gz)
	}
	// Never more than held.
	if n := c.shed(10); n != 2 || c.len() != 0 {
		t.Fatalf("shed %d, %d left", n, c.len())
	}
	if n := c.shed(1); n != 0 {
		t.Fatalf("shed %d of nothing", n)
	}
}

// Shed on an empty engine, or of nothing, changes nothing; requests do not
// add up; above 1 is everything.
func TestShedCooldownsFractions(t *testing.T) {
	en, logs, _ := shedEngine(t)
	en.Shed(1)
	advance(t, en, t0.UnixNano())
	process(t, en)
	if s := en.Stats(); s.Evictions != 0 || strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("empty: %+v, log:\n%s", s, logs.String())
	}
	process(t, en, shedPlays(0, 0)...)
	for _, f := range []float64{0, -1, math.NaN()} {
		en.Shed(f)
	}
	process(t, en)
	if s := en.Stats(); s.Evictions != 0 || s.Cooldowns != 4 {
		t.Fatalf("nothing asked: %+v", s)
	}
	en.Shed(0.25)
	en.Shed(0.1)
	process(t, en)
	process(t, en)
	if s := en.Stats(); s.Evictions != 1 || s.Cooldowns != 3 {
		t.Fatalf("a quarter of 4, once: %+v", s)
	}
	en.Shed(3)
	process(t, en)
	if s := en.Stats(); s.Evictions != 4 || s.Cooldowns != 0 {
		t.Fatalf("all: %+v", s)
	}
}

// The log says so at most once per LogInterval, with the evictions since.
func TestShedCooldownsLogRate(t *testing.T) {
	en, logs, clk := shedEngine(t)
	process(t, en, shedPlays(0, 0)...)
	en.Shed(0.25)
	process(t, en)
	en.Shed(0.25)
	process(t, en)
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings within a minute:\n%s", n, logs.String())
	}
	clk.Advance(time.Minute)
	en.Shed(0.25)
	process(t, en)
	if l := logs.String(); strings.Count(l, "level=WARN") != 2 || !strings.Contains(l, "evictions_total=3 since_last_log=2") {
		t.Fatalf("log:\n%s", l)
	}
}

// A shed state snapshots and restores, and the restored engine goes on as
// the original.
func TestShedCooldownsSnapshot(t *testing.T) {
	en, _, _ := shedEngine(t)
	process(t, en, shedPlays(0, 0)...)
	en.Shed(0.5)
	advance(t, en, t0.UnixNano())
	snap, err := en.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	back, _, _ := shedEngine(t)
	if err := back.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again, _ := back.Snapshot(); !bytes.Equal(again, snap) || back.Stats().Cooldowns != 2 {
		t.Fatalf("restored %d entries, or other bytes", back.Stats().Cooldowns)
	}
	for _, x := range []*Engine{en, back} {
		x.Shed(0.5)
	}
	want := targets(process(t, en, shedPlays(10, time.Hour)...))
	if got := targets(process(t, back, shedPlays(10, time.Hour)...)); got != want || got == "" {
		t.Fatalf("restored fired %q, the original %q", got, want)
	}
}

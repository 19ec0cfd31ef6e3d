package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream/metrics"
)

// diurnal is a source busy by day (08:00-20:00 UTC, 2 events/s) and all
// but quiet at night (one event in ~3 minutes), with outages (nothing) in
// the given hours.
func diurnal(outages ...time.Time) func(time.Time) float64 {
	return func(t time.Time) float64 {
		for _, o := range outages {
			if !t.Before(o) && t.Before(o.Add(time.Hour)) {
				return 0
			}
		}
		if h := t.Hour(); h >= 8 && h < 20 {
			return 2
		}
		return 0.005
	}
}

type wantAlert struct {
	kind   metrics.AlertKind
	source string
	near   time.Time // within 3 spans after
}

func checkAlerts(t *testing.T, got []metrics.Alert, want []wantAlert, span time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		a := got[i]
		if a.Kind != w.kind || a.Source != w.source || a.At.Before(w.near) || a.At.After(w.near.Add(3*span)) {
			t.Errorf("alert %d: %+v, want %s of %s within 3 spans after %s", i, a, w.kind, w.source, w.near)
		}
	}
}

// Time-of-day thresholds on simulated days: on the first evening, without
// history, the quiet night is a silence (judged on the recent rate); once
// a day of history exists the night is expected to be quiet and raises
// nothing, while an outage by day alerts against the same hour yesterday.
func TestSourceMonitorTimeOfDay(t *testing.T) {
	const span = 5 * time.Minute
	day1 := day0.Add(24 * time.Hour)
	outage := day1.Add(4 * time.Hour) // 12:00 on day 1
	s := newSim(t, day0, metrics.SourceConfig{Span: span})
	s.set("web", diurnal(outage))
	s.set("api", steady(3))

	got := s.until(day1.Add(-time.Hour)) // day 0, 08:00 to day 1, 07:00
	checkAlerts(t, got, []wantAlert{{metrics.AlertSilence, "web", day0.Add(12 * time.Hour)}}, span)
	if st := s.status("web"); st.State != metrics.SourceSilent || st.Basis != "recent" {
		t.Errorf("the first night: %+v", st)
	}

	got = s.until(outage.Add(2 * time.Hour))
	checkAlerts(t, got, []wantAlert{
		{metrics.AlertRecovered, "web", day1},
		{metrics.AlertSilence, "web", outage},
		{metrics.AlertRecovered, "web", outage.Add(time.Hour)},
	}, span)
	if a := got[1]; a.Expected < 1.8 || a.Expected > 2.2 || !a.Since.Equal(outage) {
		t.Errorf("the outage's alert %+v: want expected ~2/s (yesterday's 12:00), since %s", a, outage)
	}

	got = s.until(day1.Add(15 * time.Hour)) // 23:00 on day 1
	if len(got) != 0 {
		t.Fatalf("the second evening: %+v", got)
	}
	if st := s.status("web"); st.State != metrics.SourceOK || st.Basis != "history" || st.Expected > 0.01 {
		t.Errorf("the second night: %+v, want ok against a quiet history", st)
	}
	if got := s.until(day1.Add(48 * time.Hour)); len(got) != 0 {
		t.Fatalf("days 2 and 3: %+v", got)
	}
	if n := s.mon.Alerts(); n["silence"] != 2 || n["recovered"] != 2 {
		t.Errorf("Alerts() = %v", n)
	}
}

// historyRestart runs a monitor through day 0 with store, stops it (its
// Run saves), and starts another on day 1 with reopened (the same history
// read afresh): the second evening raises nothing, as the history knows
// the night is quiet. A third monitor without history is the control: it
// alerts on that evening.
func historyRestart(t *testing.T, store metrics.HistoryStore, reopened func() metrics.HistoryStore) {
	const span = 5 * time.Minute
	day1 := day0.Add(24 * time.Hour)
	first := newRunSim(t, day0, metrics.SourceConfig{Span: span, History: store})
	first.set("web", diurnal())
	first.until(day1)
	if err := first.stop(); err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	checkAlerts(t, first.collected(), []wantAlert{{metrics.AlertSilence, "web", day0.Add(12 * time.Hour)}}, span)

	stored, err := reopened().Load(context.Background(), []string{"web", "other"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stored["web"]); n != 24 {
		t.Errorf("%d hours stored, want 24: %v", n, stored["web"])
	}
	if _, ok := stored["other"]; ok {
		t.Errorf("hours of a source never seen: %v", stored["other"])
	}
	for hr, c := range stored["web"] {
		if c.Watched != time.Hour && (hr != day0.Unix()/3600 || c.Watched < 59*time.Minute) { // first seen at the 2nd sample
			t.Errorf("hour %s watched %s", time.Unix(hr*3600, 0).UTC(), c.Watched)
		}
	}
	noon := day0.Add(4*time.Hour).Unix() / 3600
	if c := stored["web"][noon]; c.Events < 7100 || c.Events > 7300 {
		t.Errorf("12:00 on day 0: %+v, want ~7200 events", c)
	}

	second := newRunSim(t, day1, metrics.SourceConfig{Span: span, History: reopened()})
	second.set("web", diurnal())
	second.until(day1.Add(13 * time.Hour))
	if got := second.collected(); len(got) != 0 {
		t.Fatalf("after the restart, with history: %+v", got)
	}
	if st := second.status("web"); st.Basis != "history" || st.State != metrics.SourceOK {
		t.Errorf("21:00 on day 1: %+v", st)
	}

	control := newSim(t, day1, metrics.SourceConfig{Span: span, History: metrics.NewMemoryHistory()})
	control.set("web", diurnal())
	got := control.until(day1.Add(13 * time.Hour))
	checkAlerts(t, got, []wantAlert{{metrics.AlertSilence, "web", day1.Add(12 * time.Hour)}}, span)
}

func TestSourceMonitorHistoryInMemory(t *testing.T) {
	store := metrics.NewMemoryHistory()
	historyRestart(t, store, func() metrics.HistoryStore { return store })
}

// flakyHistory fails its loads and saves while down, and returns a
// malformed field with each load.
type flakyHistory struct {
	*metrics.MemoryHistory
	down          bool
	loads, saves  int
	malformedWith bool
}

func (f *flakyHistory) Load(ctx context.Context, sources []string) (map[string]map[int64]metrics.HourCount, error) {
	f.loads++
	if f.down {
		return nil, context.DeadlineExceeded
	}
	out, _ := f.MemoryHistory.Load(ctx, sources)
	if f.malformedWith {
		return out, &metrics.HistoryFieldError{Key: "source:history:web", Field: "x", Value: "1 2 3", Err: errBadValue}
	}
	return out, nil
}

func (f *flakyHistory) Save(ctx context.Context, changes []metrics.HistoryChange) error {
	f.saves++
	if f.down {
		return context.DeadlineExceeded
	}
	return f.MemoryHistory.Save(ctx, changes)
}

var errBadValue = errors.New("not two numbers")

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// A store that is down: the sources are judged on their recent rate
// meanwhile, the load is tried again at each sample, and what was counted
// is merged with the stored hours and saved once it is back. A malformed
// stored hour is skipped, logged, and the rest loaded.
func TestSourceMonitorHistoryStoreDown(t *testing.T) {
	const span = 5 * time.Minute
	mem := metrics.NewMemoryHistory()
	twoDaysAgo := day0.Add(-48*time.Hour).Unix() / 3600
	if err := mem.Save(context.Background(), []metrics.HistoryChange{{Source: "web",
		Set: map[int64]metrics.HourCount{twoDaysAgo: {Events: 100, Watched: time.Hour}}}}); err != nil {
		t.Fatal(err)
	}
	store := &flakyHistory{MemoryHistory: mem, down: true, malformedWith: true}
	var logs strings.Builder
	s := newSim(t, day0, metrics.SourceConfig{Span: span, History: store, Logger: newTextLogger(&logs)})
	s.set("web", steady(2))
	s.until(day0.Add(30 * time.Minute))
	if store.loads < 50 || store.saves != 0 {
		t.Errorf("while down: %d loads, %d saves; want one load per sample and no save", store.loads, store.saves)
	}
	if n := strings.Count(logs.String(), "source history not loaded"); n != 1 {
		t.Errorf("the failed load logged %d times, want once:\n%s", n, logs.String())
	}
	store.down = false
	loads := store.loads
	s.until(s.now.Add(2 * time.Minute))
	if store.loads != loads+1 {
		t.Errorf("%d loads once back, want 1", store.loads-loads)
	}
	if !strings.Contains(logs.String(), "source history loaded") || !strings.Contains(logs.String(), `field=x`) {
		t.Errorf("log:\n%s", logs.String())
	}
	hours := mem.Hours("web")
	if c := hours[day0.Unix()/3600]; c.Watched < 30*time.Minute || c.Events < 3600 {
		t.Errorf("08:00 after the store came back: %+v, want the half hour counted while it was down", c)
	}
	if _, ok := hours[twoDaysAgo]; !ok {
		t.Errorf("the stored hour two days ago was lost: %v", hours)
	}
	s.until(day0.Add(7*24*time.Hour + time.Hour))
	if _, ok := mem.Hours("web")[twoDaysAgo]; ok {
		t.Errorf("an hour older than Days still stored")
	}
}

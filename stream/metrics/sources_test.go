package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream/metrics"
)

var day0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

var hosts = []string{"/data/host1.csv", "/data/host2.csv", "/data/host3.csv", "/data/host4.csv"}

// Four files at steady rates (±30% per sample), one stops: one silence
// alert naming it and only it within 3× the span, Check names it, and a
// recovered alert follows when it resumes. Nothing alerts before.
func TestSourceMonitorSilenceAndRecovery(t *testing.T) {
	const span = time.Minute
	s := newSim(t, day0, metrics.SourceConfig{Span: span})
	s.jitter = 0.3
	for _, h := range hosts {
		s.set(h, steady(5))
	}
	if got := s.until(day0.Add(30 * time.Minute)); len(got) != 0 {
		t.Fatalf("alerts while every source produced steadily: %+v", got)
	}
	for _, st := range s.mon.Status() {
		if st.State != metrics.SourceOK || st.Basis != "recent" || st.Rate < 3 || st.Rate > 7 {
			t.Errorf("after 30 minutes: %+v", st)
		}
	}
	if err := s.mon.Check(s.now); err != nil {
		t.Fatalf("Check while all produce: %v", err)
	}

	stopped := s.now
	s.set(hosts[2], nil)
	got := s.until(stopped.Add(3 * span))
	if len(got) != 1 {
		t.Fatalf("within 3× the span of stopping %s: %d alerts, want 1: %+v", hosts[2], len(got), got)
	}
	a := got[0]
	if a.Source != hosts[2] || a.Kind != metrics.AlertSilence {
		t.Fatalf("alert %+v, want silence of %s", a, hosts[2])
	}
	// Since is its last event, or the Span's start when the alert comes
	// while the last events are still in the Span: within a sample.
	if d := stopped.Sub(a.Since); d < 0 || d > s.every || a.Observed >= 0.5 || a.Expected < 4 || a.Expected > 6 {
		t.Errorf("alert %+v: want since %s (its last event), observed under a tenth of expected ~5/s", a, stopped)
	}
	if d := a.At.Sub(stopped); d > 3*span || d < span/2 {
		t.Errorf("alerted %s after the stop", d)
	}
	if a.At.Location() != time.UTC || a.Since.Location() != time.UTC {
		t.Errorf("alert times not UTC: %+v", a)
	}
	err := s.mon.Check(s.now)
	if err == nil || !strings.Contains(err.Error(), hosts[2]) {
		t.Fatalf("Check: %v, want it to name %s", err, hosts[2])
	}
	for _, h := range []string{hosts[0], hosts[1], hosts[3]} {
		if strings.Contains(err.Error(), h) {
			t.Errorf("Check names %s, which produces: %v", h, err)
		}
	}
	if st := s.status(hosts[2]); st.State != metrics.SourceSilent || !st.Since.Equal(a.Since) {
		t.Errorf("status %+v", st)
	}

	// Silent for long (longer than Recent): no further alert.
	if more := s.until(s.now.Add(20 * span)); len(more) != 0 {
		t.Fatalf("alerts while it stays silent: %+v", more)
	}

	resumed := s.now
	s.set(hosts[2], steady(5))
	got = s.until(resumed.Add(span))
	if len(got) != 1 || got[0].Kind != metrics.AlertRecovered || got[0].Source != hosts[2] {
		t.Fatalf("within a span of resuming: %+v, want one recovered of %s", got, hosts[2])
	}
	if !got[0].Since.Equal(a.Since) {
		t.Errorf("recovered since %s, want the silence's since %s", got[0].Since, a.Since)
	}
	if err := s.mon.Check(s.now); err != nil {
		t.Errorf("Check after recovery: %v", err)
	}
	if more := s.until(s.now.Add(30 * time.Minute)); len(more) != 0 {
		t.Fatalf("alerts after the recovery: %+v", more)
	}
	if all := s.collected(); len(all) != 2 {
		t.Errorf("OnAlert received %d alerts, want the 2 Observe returned: %+v", len(all), all)
	}
	if n := s.mon.Alerts(); n["silence"] != 1 || n["recovered"] != 1 || n["never_started"] != 0 {
		t.Errorf("Alerts() = %v", n)
	}
}

// A source known but producing nothing is never_started after a Span, not
// silent, and recovered when it starts.
func TestSourceMonitorNeverStarted(t *testing.T) {
	const span = time.Minute
	s := newSim(t, day0, metrics.SourceConfig{Span: span})
	s.set(hosts[0], steady(5))
	s.set(hosts[1], nil) // registered, no event
	// The first sample is at day0+every: judged a Span later, since when
	// the pipeline registered it.
	if got := s.until(day0.Add(span)); len(got) != 0 {
		t.Fatalf("alerts within the first span: %+v", got)
	}
	if st := s.status(hosts[1]); st.State != metrics.SourceStarting {
		t.Errorf("before a span: %+v", st)
	}
	got := s.until(day0.Add(span + s.every))
	if len(got) != 1 || got[0].Kind != metrics.AlertNeverStarted || got[0].Source != hosts[1] || !got[0].Since.Equal(day0) {
		t.Fatalf("at a span: %+v, want never_started of %s since %s", got, hosts[1], day0)
	}
	if err := s.mon.Check(s.now); err != nil {
		t.Errorf("Check names only silent sources: %v", err)
	}
	if st := s.status(hosts[1]); st.State != metrics.SourceNeverStarted {
		t.Errorf("status %+v", st)
	}
	if more := s.until(day0.Add(30 * span)); len(more) != 0 {
		t.Fatalf("a second alert: %+v", more)
	}
	s.set(hosts[1], steady(5))
	got = s.until(s.now.Add(s.every))
	if len(got) != 1 || got[0].Kind != metrics.AlertRecovered || got[0].Source != hosts[1] || !got[0].Since.Equal(day0) {
		t.Fatalf("once it produces: %+v", got)
	}
	if more := s.until(s.now.Add(30 * span)); len(more) != 0 {
		t.Fatalf("alerts once it produces: %+v", more)
	}
}

// Start-up: sources that ran before the monitor (large counts), one of
// them stopped already, one a trickle: nothing alerts, ever; the stopped
// one is not judged (no rate to hold it to).
func TestSourceMonitorNoAlertAtStartup(t *testing.T) {
	const span = time.Minute
	s := newSim(t, day0, metrics.SourceConfig{Span: span})
	s.srcs.add(hosts[0], 1_000_000, day0)
	s.srcs.add(hosts[1], 500_000, day0)
	s.srcs.add(hosts[2], 3, day0)
	s.set(hosts[0], steady(50))
	s.set(hosts[1], nil)
	s.set(hosts[2], steady(0.01))
	for _, st := range s.mon.Status() {
		t.Fatalf("a status before the first sample: %+v", st)
	}
	if got := s.until(day0.Add(60 * span)); len(got) != 0 {
		t.Fatalf("alerts: %+v", got)
	}
	if err := s.mon.Check(s.now); err != nil {
		t.Fatal(err)
	}
}

// Check names every silent source, in order, and only them.
func TestSourceMonitorCheckNamesEverySilentSource(t *testing.T) {
	s := newSim(t, day0, metrics.SourceConfig{Span: time.Minute})
	s.jitter = 0.2
	for i := range 10 {
		s.set(fmt.Sprintf("plays/%d", i), steady(20))
	}
	s.until(day0.Add(20 * time.Minute))
	s.set("plays/7", nil)
	s.set("plays/2", nil)
	s.set("plays/5", steady(1)) // a twentieth of its rate: below a tenth
	got := s.until(s.now.Add(3 * time.Minute))
	if len(got) != 3 {
		t.Fatalf("alerts %+v", got)
	}
	err := s.mon.Check(s.now)
	if err == nil {
		t.Fatal("Check: nil")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "3 silent source(s): plays/2 (") {
		t.Errorf("Check: %s", msg)
	}
	i2, i5, i7 := strings.Index(msg, "plays/2 "), strings.Index(msg, "plays/5 "), strings.Index(msg, "plays/7 ")
	if i2 < 0 || i5 < i2 || i7 < i5 {
		t.Errorf("Check does not name plays/2, 5 and 7 in order: %s", msg)
	}
	for _, i := range []int{0, 1, 3, 4, 6, 8, 9} {
		if strings.Contains(msg, fmt.Sprintf("plays/%d ", i)) {
			t.Errorf("Check names plays/%d: %s", i, msg)
		}
	}
}

// A source that ended (its input, or a revoked partition) is not judged.
func TestSourceMonitorEndedSource(t *testing.T) {
	s := newSim(t, day0, metrics.SourceConfig{Span: time.Minute})
	s.set(hosts[0], steady(5))
	s.set(hosts[1], steady(5))
	s.until(day0.Add(20 * time.Minute))
	s.set(hosts[1], nil)
	s.srcs.done(hosts[1])
	if got := s.until(s.now.Add(10 * time.Minute)); len(got) != 0 {
		t.Fatalf("alerts: %+v", got)
	}
	if st := s.status(hosts[1]); st.State != metrics.SourceEnded {
		t.Errorf("status %+v", st)
	}
}

func TestSourceConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  metrics.SourceConfig
		want string
	}{
		{metrics.SourceConfig{Span: -time.Second}, "negative"},
		{metrics.SourceConfig{Fraction: 1}, "Fraction"},
		{metrics.SourceConfig{Span: time.Minute, Every: 31 * time.Second}, "half the Span"},
	} {
		_, err := metrics.NewSourceMonitor(newFakeSources().stats, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := metrics.NewSourceMonitor(nil, metrics.SourceConfig{}); err == nil {
		t.Error("no stats function: no error")
	}
	m, err := metrics.NewSourceMonitor(newFakeSources().stats, metrics.SourceConfig{Span: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Every != 12*time.Second || c.Recent != 20*time.Minute || c.Days != 7 || c.Fraction != 0.1 {
		t.Errorf("defaults %+v", c)
	}
}

package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// counts is a hand-driven counter per source.
type counts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *counts) add(src string, n int64) {
	c.mu.Lock()
	c.n[src] += n
	c.mu.Unlock()
}

func (c *counts) get() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// feed advances time by d in steps of 10s, adding perStep events to src
// each step and checking at each one; it returns the last check's result.
func feed(s *Silence, c *counts, now *time.Time, d time.Duration, perStep map[string]int64) error {
	var err error
	for end := now.Add(d); now.Before(end); {
		*now = now.Add(10 * time.Second)
		for src, n := range perStep {
			c.add(src, n)
		}
		err = s.Check(*now)
	}
	return err
}

func TestSilenceTripsAndRecovers(t *testing.T) {
	c := &counts{n: map[string]int64{}}
	s, err := NewSilence(c.get, SilenceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	if err := s.Check(now); err != nil {
		t.Fatalf("no samples: %v", err)
	}
	// 10 minutes at 100 events / 10s on both sources: healthy.
	if err := feed(s, c, &now, 10*time.Minute, map[string]int64{"kafka": 100, "file": 100}); err != nil {
		t.Fatalf("steady: %v", err)
	}
	// kafka drops to 5%: healthy until its last minute's rate is below 10%.
	var tripped time.Duration
	for i := 1; i <= 6; i++ {
		if err := feed(s, c, &now, 10*time.Second, map[string]int64{"kafka": 5, "file": 100}); err != nil {
			tripped = time.Duration(i) * 10 * time.Second
			if !strings.Contains(err.Error(), "kafka") || strings.Contains(err.Error(), "file") {
				t.Fatalf("wrong source named: %v", err)
			}
			break
		}
	}
	// After 50s at 5%, the last minute averages (1*100+5*5)/60 ≈ 2.1/s
	// against ≈9.2/s over ten minutes: above 10%; at 60s it is 0.5/s.
	if tripped != time.Minute {
		t.Fatalf("tripped after %v, want 1m", tripped)
	}
	// Silent for longer than Long: still degraded (latched).
	if err := feed(s, c, &now, 15*time.Minute, map[string]int64{"file": 100}); err == nil {
		t.Fatal("a source silent for 15 minutes recovered by itself")
	}
	// Back at half its rate for a minute: recovered.
	if err := feed(s, c, &now, time.Minute, map[string]int64{"kafka": 50, "file": 100}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestSilenceIgnoresSourcesThatNeverProduced(t *testing.T) {
	c := &counts{n: map[string]int64{"idle": 0}}
	s, err := NewSilence(c.get, SilenceConfig{Short: 30 * time.Second, Long: 5 * time.Minute, Fraction: 0.5, MinEvents: 100})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	if err := feed(s, c, &now, 10*time.Minute, map[string]int64{"idle": 0}); err != nil {
		t.Fatalf("a source that never produced: %v", err)
	}
	// A trickle below MinEvents over Long does not count as producing.
	if err := feed(s, c, &now, 5*time.Minute, map[string]int64{"idle": 1}); err != nil {
		t.Fatalf("a trickle: %v", err)
	}
	if _, err := NewSilence(c.get, SilenceConfig{Short: time.Hour, Long: time.Minute}); err == nil {
		t.Error("Short >= Long accepted")
	}
	if _, err := NewSilence(nil, SilenceConfig{}); err == nil {
		t.Error("nil counts accepted")
	}
}

func TestSilenceRunSamples(t *testing.T) {
	clock := stream.NewManualClock(t0)
	c := &counts{n: map[string]int64{}}
	s, err := NewSilence(c.get, SilenceConfig{Every: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c.add("src", 1)
	// Advance until Run has taken a sample (its ticker exists once Run
	// started; a tick lost before that is retried).
	deadline := time.Now().Add(10 * time.Second)
	for {
		clock.Advance(time.Second)
		s.mu.Lock()
		n := len(s.samples["src"])
		s.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run took no sample")
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run = %v", err)
	}
}

func TestHealthHandler(t *testing.T) {
	c := &counts{n: map[string]int64{}}
	s, err := NewSilence(c.get, SilenceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	clock := stream.NewManualClock(now)
	h := HealthHandler(HealthConfig{Checks: map[string]Check{"silence": s.Check}, Clock: clock,
		Info: func() any { return map[string]int{"events": 1} }})
	get := func() (int, HealthReport) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		var r HealthReport
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("body %q: %v", rec.Body.String(), err)
		}
		return rec.Code, r
	}
	if code, r := get(); code != 200 || r.Status != "ok" || r.Checks["silence"] != "ok" || r.Info == nil {
		t.Fatalf("healthy: %d %+v", code, r)
	}
	_ = feed(s, c, &now, 10*time.Minute, map[string]int64{"kafka": 100})
	_ = feed(s, c, &now, 2*time.Minute, map[string]int64{"kafka": 0})
	clock.Advance(now.Sub(clock.Now()))
	code, r := get()
	if code != http.StatusServiceUnavailable || r.Status != "degraded" || !strings.Contains(r.Checks["silence"], "kafka") {
		t.Fatalf("silent: %d %+v", code, r)
	}
}

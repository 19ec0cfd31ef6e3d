package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

func TestStateAfterARun(t *testing.T) {
	d := served(t, 6000, func(c *Config) {
		c.Health = &metrics.HealthConfig{Checks: map[string]metrics.Check{
			"redis": func(time.Time) error { return errors.New("customer lookup degraded") }}}
	})
	st := d.State(context.Background(), t0, RangeDay)
	if len(st.Errors) > 0 {
		t.Fatalf("read errors: %v", st.Errors)
	}
	var plays int64
	for _, h := range st.Buckets {
		plays += h.Plays
		if h.Mobile+h.Desktop != h.Plays || h.MobileShare < 0 || h.MobileShare > 1 {
			t.Errorf("hour %+v", h)
		}
	}
	// 6000 plays and 60 planted triples, 8s apart: about 13 hours.
	if len(st.Buckets) < 10 || plays != 6180 {
		t.Errorf("%d hours, %d plays", len(st.Buckets), plays)
	}
	if len(st.TopZips.Entries) != 20 || len(st.TopTracks.Entries) != 20 {
		t.Errorf("rankings of %d zips and %d tracks, want 20 each", len(st.TopZips.Entries), len(st.TopTracks.Entries))
	}
	var byLevel int64
	for _, e := range st.Levels {
		byLevel += e.Plays
	}
	if byLevel != plays || len(st.Genders) == 0 || len(st.Ages) != 0 {
		t.Errorf("levels sum to %d (plays %d), genders %v, ages %v (the generated customers have none)", byLevel, plays, st.Genders, st.Ages)
	}
	if len(st.Ops) < 5 || len(st.Rules) == 0 || st.Stats.Firings == 0 {
		t.Fatalf("ops series of %d points, rules %v, firings %d", len(st.Ops), st.Rules, st.Stats.Firings)
	}
	var events float64
	for _, p := range st.Ops {
		events += p.EventsPerSec // one second between samples
	}
	if int64(events+0.5) != st.Stats.EventsIn {
		t.Errorf("events/s over the series sum to %v, want %d", events, st.Stats.EventsIn)
	}
	if st.Health == nil || st.Health.Status != "degraded" {
		t.Errorf("health %+v", st.Health)
	}
}

func TestHandlerServesPageAndJSON(t *testing.T) {
	d := served(t, 2000, nil)
	srv := httptest.NewServer(d)
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="app.js">`},
		{"/app.js", "javascript", "api/dashboard"},
		{"/charts.js", "javascript", "textContent"},
		{"/panels.js", "javascript", "chart-model"},
		{"/customer.js", "javascript", "api/customer/"},
		{"/app.css", "text/css", "--panel"},
		{"/api/dashboard", "application/json", `"buckets"`},
	} {
		code, ctype, body := get(c.path)
		if code != 200 || !strings.Contains(ctype, c.ctype) || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %s %.80q", c.path, code, ctype, body)
		}
		if strings.Contains(body, "https://") || strings.Contains(body, "http://cdn") {
			t.Errorf("GET %s refers to a remote resource", c.path)
		}
	}
	if code, _, _ := get("/nothing"); code != 404 {
		t.Errorf("GET /nothing: %d", code)
	}
	_, _, body := get("/api/dashboard")
	var st State
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Buckets) == 0 {
		t.Fatalf("JSON: %v, %d hours", err, len(st.Buckets))
	}
}

func TestSamplerSeries(t *testing.T) {
	s := &sampler{every: time.Second, history: 10 * time.Second}
	for i := 0; i <= 20; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		s.add(sample{at: at, in: int64(100 * i), wm: at.UnixNano(), max: at.Add(3 * time.Second).UnixNano(),
			firings: map[string]int64{"interest": int64(i / 2)}})
	}
	s.add(sample{at: t0.Add(20 * time.Second)}) // same time: ignored
	pts, rules := s.series()
	if len(pts) != 10 || len(rules) != 1 || rules[0] != "interest" {
		t.Fatalf("%d points, rules %v; want 10 (history 10s), [interest]", len(pts), rules)
	}
	for _, p := range pts {
		if p.EventsPerSec != 100 || p.LagSeconds == nil || *p.LagSeconds != 3 || (p.FiringsPerM["interest"] != 0 && p.FiringsPerM["interest"] != 60) {
			t.Fatalf("point %+v", p)
		}
	}
	if s.due(t0.Add(20*time.Second)) || !s.due(t0.Add(21*time.Second)) {
		t.Error("due")
	}
	if lag(sample{wm: stream.MinWatermark}) != nil {
		t.Error("lag before any watermark")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without Redis and pipeline")
	}
}

func TestRunSamples(t *testing.T) {
	clock := stream.NewManualClock(t0)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never contacted
	defer rdb.Close()
	d, err := New(Config{Redis: rdb, Pipeline: stream.New("p", stream.Config{}), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		clock.Advance(time.Second)
		if pts, _ := d.smp.series(); len(pts) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run took no samples")
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

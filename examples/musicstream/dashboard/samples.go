package dashboard

import (
	"sort"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// sample is the counters at one processing time.
type sample struct {
	at      time.Time
	in      int64
	wm, max int64
	firings map[string]int64
}

// OpsPoint is one point of the operational series: the rates between two
// samples, and the lag at the later one.
type OpsPoint struct {
	Time         int64            `json:"t"` // unix milliseconds
	EventsPerSec float64          `json:"eventsPerSec"`
	LagSeconds   *float64         `json:"lagSeconds"`    // newest event time minus the watermark; null before a watermark
	FiringsPerM  map[string]int64 `json:"firingsPerMin"` // rule -> firings per minute
}

// sampler keeps the samples of the last History.
type sampler struct {
	mu      sync.Mutex
	every   time.Duration
	history time.Duration
	samples []sample
}

func (s *sampler) add(x sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.samples); n > 0 && !x.at.After(s.samples[n-1].at) {
		return // the clock did not move: keep the first
	}
	s.samples = append(s.samples, x)
	cut := 0
	for cut < len(s.samples)-1 && x.at.Sub(s.samples[cut].at) > s.history {
		cut++
	}
	s.samples = append(s.samples[:0], s.samples[cut:]...)
}

func (s *sampler) due(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples) == 0 || now.Sub(s.samples[len(s.samples)-1].at) >= s.every
}

func lag(x sample) *float64 {
	if x.wm == stream.MinWatermark || x.wm == 0 {
		return nil
	}
	v := 0.0
	if x.wm != stream.MaxWatermark && x.max > x.wm {
		v = float64(x.max-x.wm) / 1e9
	}
	return &v
}

// series returns the points between consecutive samples and the rules seen.
func (s *sampler) series() ([]OpsPoint, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rules := map[string]bool{}
	var pts []OpsPoint
	for i := 1; i < len(s.samples); i++ {
		a, b := s.samples[i-1], s.samples[i]
		dt := b.at.Sub(a.at).Seconds()
		p := OpsPoint{Time: b.at.UnixMilli(), EventsPerSec: float64(b.in-a.in) / dt, LagSeconds: lag(b), FiringsPerM: map[string]int64{}}
		for r, n := range b.firings {
			rules[r] = true
			p.FiringsPerM[r] = int64(float64(n-a.firings[r])*60/dt + 0.5)
		}
		pts = append(pts, p)
	}
	names := make([]string, 0, len(rules))
	for r := range rules {
		names = append(names, r)
	}
	sort.Strings(names)
	return pts, names
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// SilenceConfig configures a Silence check. Zero values mean the defaults.
type SilenceConfig struct {
	// Short is the recent span whose rate is judged. Default 1m.
	Short time.Duration
	// Long is the span of the reference rate. Default 10m.
	Long time.Duration
	// Fraction: a source is silent when its rate over Short falls below
	// Fraction times its rate over Long. Default 0.1.
	Fraction float64
	// MinEvents is how many events a source must have produced over Long to
	// count as producing. Default 10.
	MinEvents int64
	// Every is how often Run samples. Default 5s.
	Every time.Duration
	// Clock is the processing-time clock. Default: the system clock.
	Clock stream.Clock
}

func (c *SilenceConfig) setDefaults() {
	if c.Short <= 0 {
		c.Short = time.Minute
	}
	if c.Long <= 0 {
		c.Long = 10 * time.Minute
	}
	if c.Fraction <= 0 {
		c.Fraction = 0.1
	}
	if c.MinEvents <= 0 {
		c.MinEvents = 10
	}
	if c.Every <= 0 {
		c.Every = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
}

// Validate reports settings that cannot work.
func (c SilenceConfig) Validate() error {
	if c.Short > 0 && c.Long > 0 && c.Short >= c.Long {
		return errors.New("metrics: SilenceConfig.Short must be shorter than Long")
	}
	if c.Fraction >= 1 {
		return errors.New("metrics: SilenceConfig.Fraction must be below 1")
	}
	return nil
}

type sample struct {
	at time.Time
	n  int64
}

// Silence reports a source that was producing and fell silent: its rate
// over the last Short below Fraction of its rate over the last Long. Once
// tripped it stays degraded, against the rate it had then, until the
// source's rate over Short recovers to Fraction of that rate (a source silent
// for longer than Long is still silent). Samples are taken by Observe (Check
// and Run call it); a span reaches back to the latest sample at or before its
// start, so sample at least every Short/2.
type Silence struct {
	cfg    SilenceConfig
	counts func() map[string]int64

	mu      sync.Mutex
	samples map[string][]sample
	latched map[string]float64 // source -> reference rate (events/s) when tripped
}

// NewSilence returns a check over the per-source counters counts returns
// (events since start, by source name).
func NewSilence(counts func() map[string]int64, cfg SilenceConfig) (*Silence, error) {
	if counts == nil {
		return nil, errors.New("metrics: NewSilence needs a counter function")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Silence{cfg: cfg, counts: counts, samples: map[string][]sample{}, latched: map[string]float64{}}, nil
}

// PipelineInput is a counter function over a pipeline's input as one source,
// named after the pipeline (stream.Stats has no per-source counts).
func PipelineInput(p StatsSource) func() map[string]int64 {
	return func() map[string]int64 { return map[string]int64{p.Name(): p.Stats().EventsIn} }
}

// Observe samples the counters at processing time now.
func (s *Silence) Observe(now time.Time) {
	counts := s.counts()
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := now.Add(-s.cfg.Long)
	for name, n := range counts {
		ss := append(s.samples[name], sample{at: now, n: n})
		// Drop samples older than the one that reaches back to now-Long.
		i := 0
		for i+1 < len(ss) && !ss[i+1].at.After(keep) {
			i++
		}
		s.samples[name] = append(ss[:0], ss[i:]...)
	}
}

// rate returns the events/s of ss over the span d before its last sample,
// reaching back to the latest sample at or before the span's start (or the
// first sample), and the span covered.
func rate(ss []sample, d time.Duration) (float64, time.Duration, int64) {
	last := ss[len(ss)-1]
	from := ss[0]
	for _, x := range ss {
		if x.at.After(last.at.Add(-d)) {
			break
		}
		from = x
	}
	span := last.at.Sub(from.at)
	if span <= 0 {
		return 0, 0, 0
	}
	return float64(last.n-from.n) / span.Seconds(), span, last.n - from.n
}

// Check samples the counters at now and returns an error naming the silent
// sources, or nil.
func (s *Silence) Check(now time.Time) error {
	s.Observe(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	var silent []string
	names := sortedKeys(s.samples)
	for _, name := range names {
		ss := s.samples[name]
		short, shortSpan, _ := rate(ss, s.cfg.Short)
		long, _, longN := rate(ss, s.cfg.Long)
		if ref, ok := s.latched[name]; ok {
			if shortSpan >= s.cfg.Short && short >= s.cfg.Fraction*ref {
				delete(s.latched, name)
			} else {
				silent = append(silent, fmt.Sprintf("%s: %.3g events/s over the last %s, below %.0f%% of %.3g events/s before",
					name, short, s.cfg.Short, 100*s.cfg.Fraction, ref))
			}
			continue
		}
		if shortSpan < s.cfg.Short || longN < s.cfg.MinEvents {
			continue // warming up, or not producing
		}
		if short < s.cfg.Fraction*long {
			s.latched[name] = long
			silent = append(silent, fmt.Sprintf("%s: %.3g events/s over the last %s, below %.0f%% of %.3g events/s over %s",
				name, short, s.cfg.Short, 100*s.cfg.Fraction, long, s.cfg.Long))
		}
	}
	sort.Strings(silent)
	if len(silent) > 0 {
		return fmt.Errorf("silent source: %s", strings.Join(silent, "; "))
	}
	return nil
}

// Run samples every Every until ctx ends, so that rates do not depend on how
// often /healthz is asked. It returns ctx.Err().
func (s *Silence) Run(ctx context.Context) error {
	tick, stop := s.cfg.Clock.NewTicker(s.cfg.Every)
	defer stop()
	for {
		select {
		case now := <-tick:
			s.Observe(now)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

package metrics_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// fakeSources stands in for Pipeline.SourceStats: counters set by hand.
type fakeSources struct {
	mu sync.Mutex
	st map[string]*stream.SourceStat
}

func newFakeSources() *fakeSources { return &fakeSources{st: map[string]*stream.SourceStat{}} }

// register makes name known with no event, as a listed partition is.
func (f *fakeSources) register(name string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st[name] == nil {
		f.st[name] = &stream.SourceStat{Name: name, Registered: now.UTC()}
	}
}

func (f *fakeSources) add(name string, n int64, now time.Time) {
	f.register(name, now)
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st[name]
	st.Events += n
	if n > 0 {
		st.Last = now.UTC()
	}
}

func (f *fakeSources) done(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st[name].Done = true
}

func (f *fakeSources) stats() []stream.SourceStat {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]stream.SourceStat, 0, len(f.st))
	for _, st := range f.st {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b stream.SourceStat) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sim drives a SourceMonitor by hand: each step adds what every source
// produces over Every at its rate, then samples at the step's end.
type sim struct {
	t      *testing.T
	srcs   *fakeSources
	mon    *metrics.SourceMonitor
	every  time.Duration
	now    time.Time
	rates  map[string]func(time.Time) float64 // events/s at a time; nil: stopped
	jitter float64                            // each step's rate times 1±jitter
	rng    *rand.Rand
	acc    map[string]float64

	mu     sync.Mutex
	alerts []metrics.Alert // from OnAlert
}

// newSim returns a sim starting at start; cfg.OnAlert is set to collect.
func newSim(t *testing.T, start time.Time, cfg metrics.SourceConfig) *sim {
	t.Helper()
	s := &sim{t: t, srcs: newFakeSources(), now: start, rates: map[string]func(time.Time) float64{},
		rng: rand.New(rand.NewPCG(1, 2)), acc: map[string]float64{}}
	cfg.OnAlert = func(a metrics.Alert) {
		s.mu.Lock()
		s.alerts = append(s.alerts, a)
		s.mu.Unlock()
	}
	mon, err := metrics.NewSourceMonitor(s.srcs.stats, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.mon, s.every = mon, mon.Config().Every
	return s
}

// steady returns a constant rate.
func steady(perSecond float64) func(time.Time) float64 {
	return func(time.Time) float64 { return perSecond }
}

// set makes source name produce at rate from now on (nil: nothing).
func (s *sim) set(name string, rate func(time.Time) float64) {
	s.srcs.register(name, s.now)
	s.rates[name] = rate
}

// step produces one Every's events and samples; it returns the alerts
// Observe returned.
func (s *sim) step() []metrics.Alert {
	from := s.now
	s.now = s.now.Add(s.every)
	for _, name := range sortedNames(s.rates) {
		rate := s.rates[name]
		if rate == nil {
			continue
		}
		r := rate(from) * s.every.Seconds()
		if s.jitter > 0 {
			r *= 1 - s.jitter + 2*s.jitter*s.rng.Float64()
		}
		s.acc[name] += r
		n := int64(s.acc[name])
		s.acc[name] -= float64(n)
		s.srcs.add(name, n, s.now)
	}
	return s.mon.Observe(context.Background(), s.now)
}

// until steps until the clock reaches t; it returns the alerts raised.
func (s *sim) until(t time.Time) []metrics.Alert {
	var out []metrics.Alert
	for s.now.Before(t) {
		out = append(out, s.step()...)
	}
	return out
}

// collected returns the alerts OnAlert received.
func (s *sim) collected() []metrics.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.alerts)
}

func (s *sim) status(name string) metrics.SourceStatus {
	s.t.Helper()
	for _, st := range s.mon.Status() {
		if st.Source == name {
			return st
		}
	}
	s.t.Fatalf("no status of %s", name)
	return metrics.SourceStatus{}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// runSim is a sim whose monitor runs (Run) on a manual clock: each step
// advances the clock by Every and waits for the sample it triggers.
type runSim struct {
	*sim
	clock    *stream.ManualClock
	observed chan time.Time
	cancel   context.CancelFunc
	done     chan error
}

func newRunSim(t *testing.T, start time.Time, cfg metrics.SourceConfig) *runSim {
	t.Helper()
	r := &runSim{clock: stream.NewManualClock(start), observed: make(chan time.Time, 1), done: make(chan error, 1)}
	cfg.Clock = r.clock
	cfg.OnObserve = func(now time.Time, _ []metrics.SourceStatus) { r.observed <- now }
	r.sim = newSim(t, start, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.mon.Run(ctx) }()
	r.wait(start) // Run samples at once
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *runSim) wait(at time.Time) {
	r.t.Helper()
	select {
	case got := <-r.observed:
		if !got.Equal(at) {
			r.t.Fatalf("sampled at %s, want %s", got, at)
		}
	case <-time.After(10 * time.Second): // a guard, not a wait for the result
		r.t.Fatalf("no sample at %s", at)
	}
}

// until advances the clock a step at a time to t.
func (r *runSim) until(t time.Time) {
	for r.now.Before(t) {
		from := r.now
		r.now = r.now.Add(r.every)
		for _, name := range sortedNames(r.rates) {
			if rate := r.rates[name]; rate != nil {
				r.acc[name] += rate(from) * r.every.Seconds()
				n := int64(r.acc[name])
				r.acc[name] -= float64(n)
				r.srcs.add(name, n, r.now)
			}
		}
		r.clock.Advance(r.every)
		r.wait(r.now)
	}
}

// stop ends Run (which saves the history) and returns its error.
func (r *runSim) stop() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	return <-r.done
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// SourceConfig configures a SourceMonitor. Zero values mean the defaults.
type SourceConfig struct {
	// Span is how long a source is judged over (-silence): it is silent when
	// its events over the last Span fall below Fraction of those expected.
	// It is also the grace at start-up: nothing is judged before a source
	// was watched for a Span. Default 5m.
	Span time.Duration
	// Recent is the window before the Span whose rate a source is expected
	// to keep where it has no history for the hours judged. Default 10 ×
	// Span.
	Recent time.Duration
	// Fraction: silent below this fraction of the expected events. Default
	// 0.1.
	Fraction float64
	// MinExpected is how many events a Span must be expected to hold for a
	// source to be judged: below it (a quiet hour, a trickle) its absence
	// means nothing. Default 10.
	MinExpected float64
	// Every is how often Run samples the counters. Default Span / 10.
	Every time.Duration
	// Days is how many earlier days of hourly history are kept and averaged
	// for the same hour. Default 7.
	Days int
	// History, if set, keeps the hourly history across restarts; it is
	// loaded for each source as it becomes known, saved every SaveEvery and
	// when Run ends. Default: in memory only.
	History HistoryStore
	// SaveEvery is how often changed history is saved. Default 1m.
	SaveEvery time.Duration
	// Timeout bounds each load and save. Default 2s.
	Timeout time.Duration
	// OnAlert is called with each alert, on Run's goroutine, after the
	// state changed (Status and Check show it): it must not block (hand the
	// alert to an alert.Outbox).
	OnAlert func(Alert)
	// OnObserve, if set, is called after each sample with the statuses
	// (tests wait on it).
	OnObserve func(now time.Time, sources []SourceStatus)
	// Clock paces the samples and gives their time. Default: the system
	// clock.
	Clock stream.Clock
	// Logger receives the history's load and save failures. Default:
	// discard.
	Logger *slog.Logger
}

func (c *SourceConfig) setDefaults() {
	if c.Span <= 0 {
		c.Span = 5 * time.Minute
	}
	if c.Recent <= 0 {
		c.Recent = 10 * c.Span
	}
	if c.Fraction <= 0 {
		c.Fraction = 0.1
	}
	if c.MinExpected <= 0 {
		c.MinExpected = 10
	}
	if c.Every <= 0 {
		c.Every = c.Span / 10
	}
	if c.Days <= 0 {
		c.Days = 7
	}
	if c.SaveEvery <= 0 {
		c.SaveEvery = time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports settings that cannot work.
func (c SourceConfig) Validate() error {
	var errs []error
	if c.Span < 0 || c.Recent < 0 || c.Every < 0 {
		errs = append(errs, errors.New("metrics: SourceConfig's durations must not be negative"))
	}
	if c.Fraction >= 1 {
		errs = append(errs, errors.New("metrics: SourceConfig.Fraction must be below 1"))
	}
	if c.Span > 0 && c.Every > c.Span/2 {
		errs = append(errs, fmt.Errorf("metrics: SourceConfig.Every (%s) must be at most half the Span (%s)", c.Every, c.Span))
	}
	return errors.Join(errs...)
}

// SourceMonitor judges each source of a pipeline on its own: a source that
// produced and falls below Fraction of what it is expected to produce over
// a Span is silent; one that never produced is reported as never started,
// not as silent. What a source is expected to produce is its rate in the
// same hours on earlier days where that history exists (traffic varies by
// time of day: a quiet night is not a silence), else its own recent rate.
// A silent source stays silent until it produces again at Fraction of what
// is expected now (of its rate before the silence, without history).
//
// It samples the pipeline's per-source counters (stream.Config.CountSources,
// Pipeline.SourceStats) every Every, off the hot path, keeps each source's
// hourly counts for Days (persisted by History), and calls OnAlert at each
// change of state. Check is the /healthz check naming every silent source;
// Status is the per-source view.
type SourceMonitor struct {
	cfg   SourceConfig
	stats func() []stream.SourceStat

	mu       sync.Mutex
	srcs     map[string]*watched
	order    []string // names, sorted
	alerts   map[AlertKind]int64
	lastSave time.Time
	saveErr  bool // the last save failed (logged once per streak)
	loadErr  bool // the last load failed (likewise)
}

// watched is one source in the monitor.
type watched struct {
	name     string
	first    time.Time // the first sample (since it was last reset)
	samples  []sample
	grewAt   time.Time // the first sample with the current count
	hist     history
	state    SourceState
	since    time.Time
	ref      float64 // events/s expected when it went silent
	rate     float64
	expected float64 // events/s
	basis    string
	events   int64
	last     time.Time
}

// NewSourceMonitor returns a monitor of the sources stats returns (e.g. a
// pipeline's SourceStats).
func NewSourceMonitor(stats func() []stream.SourceStat, cfg SourceConfig) (*SourceMonitor, error) {
	if stats == nil {
		return nil, errors.New("metrics: NewSourceMonitor needs a source stats function")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &SourceMonitor{cfg: cfg, stats: stats, srcs: map[string]*watched{}, alerts: map[AlertKind]int64{}}, nil
}

// Config returns the monitor's settings, defaults filled in.
func (m *SourceMonitor) Config() SourceConfig { return m.cfg }

// Run samples at once, then every Every, until ctx ends; then it saves the
// history (under Timeout) and returns ctx.Err().
func (m *SourceMonitor) Run(ctx context.Context) error {
	tick, stop := m.cfg.Clock.NewTicker(m.cfg.Every)
	defer stop()
	m.Observe(ctx, m.cfg.Clock.Now())
	for {
		select {
		case now := <-tick:
			m.Observe(ctx, now)
		case <-ctx.Done():
			m.save(context.WithoutCancel(ctx), true)
			return ctx.Err()
		}
	}
}

// Observe samples the counters at now, judges every source, calls OnAlert
// with what changed, and loads and saves history as needed (after the
// alerts: a store that is down does not delay them). It returns the
// alerts. Call it from one goroutine (Run does).
func (m *SourceMonitor) Observe(ctx context.Context, now time.Time) []Alert {
	stats := m.stats()
	m.mu.Lock()
	var alerts []Alert
	for _, st := range stats {
		w := m.srcs[st.Name]
		if w == nil {
			w = &watched{name: st.Name, first: now, grewAt: now, hist: newHistory(), state: SourceStarting, since: now}
			w.hist.loaded = m.cfg.History == nil
			m.srcs[st.Name] = w
			m.order = insertSorted(m.order, st.Name)
		}
		if a, ok := m.judge(w, st, now); ok {
			alerts = append(alerts, a)
			m.alerts[a.Kind]++
		}
	}
	var statuses []SourceStatus
	if m.cfg.OnObserve != nil {
		statuses = m.statusLocked()
	}
	m.mu.Unlock()
	for _, a := range alerts {
		if m.cfg.OnAlert != nil {
			m.cfg.OnAlert(a)
		}
	}
	if m.cfg.History != nil {
		m.load(ctx)
		if now.Sub(m.lastSave) >= m.cfg.SaveEvery {
			m.lastSave = now
			m.save(ctx, false)
		}
	}
	if m.cfg.OnObserve != nil {
		m.cfg.OnObserve(now, statuses)
	}
	return alerts
}

func insertSorted(names []string, name string) []string {
	i := len(names)
	for i > 0 && names[i-1] > name {
		i--
	}
	names = append(names, "")
	copy(names[i+1:], names[i:])
	names[i] = name
	return names
}

// Status returns every source's status, sorted by name.
func (m *SourceMonitor) Status() []SourceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusLocked()
}

func (m *SourceMonitor) statusLocked() []SourceStatus {
	out := make([]SourceStatus, 0, len(m.order))
	for _, name := range m.order {
		w := m.srcs[name]
		out = append(out, SourceStatus{Source: name, State: w.state, Rate: w.rate, Expected: w.expected, Basis: w.basis,
			Since: w.since.UTC(), Events: w.events, LastEvent: w.last})
	}
	return out
}

// Alerts returns how many alerts of each kind were raised, every kind
// present (0 before its first).
func (m *SourceMonitor) Alerts() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{string(AlertSilence): 0, string(AlertRecovered): 0, string(AlertNeverStarted): 0}
	for k, n := range m.alerts {
		out[string(k)] = n
	}
	return out
}

// Check is a health Check: an error naming every silent source (as of the
// latest sample), nil when none is. Sources that never started are
// reported by their alert and metric, not here.
func (m *SourceMonitor) Check(time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var silent []string
	for _, name := range m.order {
		w := m.srcs[name]
		if w.state != SourceSilent {
			continue
		}
		silent = append(silent, fmt.Sprintf("%s (%.3g events/s over the last %s, expected %.3g; silent since %s)",
			name, w.rate, m.cfg.Span, w.ref, w.since.UTC().Format(time.RFC3339)))
	}
	if len(silent) == 0 {
		return nil
	}
	return fmt.Errorf("%d silent source(s): %s", len(silent), strings.Join(silent, "; "))
}

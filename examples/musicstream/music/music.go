// Package music wires the music-stream scenario from the library's parts:
// the chain of operators of one partition (dedup by event_id, the customer
// and track lookups, the count-within window "repeats" beside an event-time
// order, the rules engine) and the demo's Redis targets. The musicstream
// example and the benchmarks build their pipelines with it; copy it to start
// a scenario of your own.
package music

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
	"github.com/rulestream/rulestream/window"
)

// Config configures a Scenario. Zero values mean the defaults.
type Config struct {
	// Prefix goes before every Redis key read or written.
	Prefix string
	// Rules is the rule set. Default: the built-in rules (interest,
	// upgrade_ad, sms_offer).
	Rules *rules.RuleSet
	// RepeatCount and RepeatWithin define the "repeats" window: RepeatCount
	// plays of one track by one customer within RepeatWithin (inclusive).
	// Defaults 3 and 30m.
	RepeatCount  int
	RepeatWithin time.Duration
	// NoWindow leaves the "repeats" window out (a job of per-play rules only).
	NoWindow bool
	// NoOrder leaves out the event-time order in front of the rules (only
	// for rule sets without cooldowns, whose results do not depend on order).
	NoOrder bool
	// Explain adds the explain field to every emission.
	Explain bool
	// CacheEntries bounds the customer cache. Default 1<<20.
	CacheEntries int
	// Logger receives the scenario's logs. Default: discard.
	Logger *slog.Logger
	// Analytics, if set, builds a partition's analytics operator (e.g.
	// analytics.Factory.Operator), run as a branch beside the window and
	// the order; it consumes the enriched plays and emits nothing. Leave it
	// nil for a backtest, which must write nothing.
	Analytics func(stream.PartitionID) (stream.Operator, error)
}

// Scenario builds the operators of each partition and keeps them, to
// report their counters and to hot-swap the rule set into every engine.
type Scenario struct {
	cfg    Config
	rdb    redis.UniversalClient
	master *rules.Engine
	cust   *enrich.Cache
	track  *enrich.Cache

	mu      sync.Mutex
	engines []*rules.Engine
	windows []*window.CountWithin
	dedups  []*window.Dedup
	lookups []*enrich.Lookup
}

// New returns a scenario reading and writing rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Scenario, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RepeatCount <= 0 {
		cfg.RepeatCount = 3
	}
	if cfg.RepeatWithin <= 0 {
		cfg.RepeatWithin = 30 * time.Minute
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = 1 << 20
	}
	if cfg.Rules == nil {
		set, err := rules.LoadDemo()
		if err != nil {
			return nil, err
		}
		cfg.Rules = set
	}
	s := &Scenario{cfg: cfg, rdb: rdb}
	var err error
	if s.master, err = rules.NewEngine(cfg.Rules, rules.EngineConfig{Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if s.cust, err = enrich.NewCache(enrich.CacheConfig{MaxEntries: cfg.CacheEntries}); err != nil {
		return nil, err
	}
	if s.track, err = enrich.NewCache(enrich.CacheConfig{MaxEntries: 1 << 16}); err != nil {
		return nil, err
	}
	return s, nil
}

// Rules returns the live rule set.
func (s *Scenario) Rules() *rules.RuleSet { return s.master.Live() }

// Master is the engine that holds the live rule set: reload rules into it
// (rules.NewFileWatcher) and call Propagate after each reload.
func (s *Scenario) Master() *rules.Engine { return s.master }

// Propagate swaps the master's live rule set into every partition's engine.
func (s *Scenario) Propagate() {
	live := s.master.Live()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, en := range s.engines {
		en.Swap(live)
	}
}

// Upstream returns the operators in front of the rules engine for one
// partition (dedup, lookups, window and order), for a backtest.
func (s *Scenario) Upstream() ([]stream.Operator, error) {
	ops, err := s.Operators(stream.PartitionID{})
	if err != nil {
		return nil, err
	}
	return ops[:len(ops)-1], nil
}

// Operators builds the chain of one partition's task; use it with
// stream.Pipeline.ViaPartitioned.
func (s *Scenario) Operators(pid stream.PartitionID) ([]stream.Operator, error) {
	dedup, err := window.NewDedup(window.DedupConfig{Field: "event_id"})
	if err != nil {
		return nil, err
	}
	cc := CustomerLookup(s.cfg.Prefix)
	cc.Cache, cc.Logger = s.cust, s.cfg.Logger
	customer, err := enrich.NewLookup(s.rdb, cc)
	if err != nil {
		return nil, err
	}
	tc := TrackLookup(s.cfg.Prefix)
	tc.Cache, tc.Logger = s.track, s.cfg.Logger
	track, err := enrich.NewLookup(s.rdb, tc)
	if err != nil {
		return nil, err
	}
	// The master engine logs rule-set changes once; the partitions' engines
	// log only warnings (runtime errors of rules).
	engine, err := rules.NewEngine(s.master.Live(), rules.EngineConfig{Logger: warnOnly(s.cfg.Logger), Explain: s.cfg.Explain})
	if err != nil {
		return nil, err
	}
	var branches []stream.Operator
	var repeats *window.CountWithin
	if !s.cfg.NoWindow {
		repeats, err = window.NewCountWithin(window.CountWithinConfig{Name: "repeats", KeyBy: []string{"customer_id", "track_id"},
			Count: s.cfg.RepeatCount, Within: s.cfg.RepeatWithin})
		if err != nil {
			return nil, err
		}
		branches = append(branches, repeats)
	}
	if !s.cfg.NoOrder {
		order, err := window.NewOrder(window.OrderConfig{Dedup: "event_id"})
		if err != nil {
			return nil, err
		}
		branches = append(branches, order)
	}
	ops := []stream.Operator{dedup, customer, track}
	if s.cfg.Analytics != nil {
		an, err := s.cfg.Analytics(pid)
		if err != nil {
			return nil, err
		}
		if len(branches) == 0 { // the analytics emit nothing: keep the plays flowing to the rules
			branches = append(branches, stream.Map(func(*stream.Event) bool { return true }))
		}
		branches = append(branches, an)
	}
	switch {
	case len(branches) == 1:
		ops = append(ops, branches[0])
	case len(branches) > 1:
		ops = append(ops, stream.Parallel(branches...))
	}
	ops = append(ops, engine)
	s.mu.Lock()
	s.engines = append(s.engines, engine)
	if repeats != nil {
		s.windows = append(s.windows, repeats)
	}
	s.dedups = append(s.dedups, dedup)
	s.lookups = append(s.lookups, customer, track)
	s.mu.Unlock()
	return ops, nil
}

// Targets returns the demo's Redis targets (interest, ads, sms, deadletter).
func (s *Scenario) Targets() (*targets.Router, error) {
	// The idempotency markers live under the prefix too, so that separate
	// prefixes are separate worlds.
	return targets.Demo(s.rdb, targets.DemoConfig{Prefix: s.cfg.Prefix, MarkerPrefix: s.cfg.Prefix + "rulestream:done:", Logger: s.cfg.Logger})
}

// Counters are the scenario's totals over every partition.
type Counters struct {
	Duplicates int64            // duplicate deliveries dropped
	Matches    int64            // "repeats" matches
	Evictions  int64            // window state dropped by its bounds
	Firings    map[string]int64 // emissions per rule
	RuleErrors map[string]int64 // runtime errors per rule
	Degraded   string           // non-empty while Redis lookups fail
}

// Counters sums the counters of every partition's operators.
func (s *Scenario) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counters{Firings: map[string]int64{}, RuleErrors: map[string]int64{}}
	for _, r := range s.master.Live().Rules() {
		c.Firings[r.Name] = 0
		c.RuleErrors[r.Name] = 0
	}
	for _, en := range s.engines {
		for _, rs := range en.Stats().Rules {
			c.Firings[rs.Rule] += rs.Firings
			c.RuleErrors[rs.Rule] += rs.Errors
		}
	}
	for _, d := range s.dedups {
		c.Duplicates += d.Stats().Duplicates
	}
	for _, w := range s.windows {
		st := w.Stats()
		c.Matches += st.Emitted
		c.Evictions += st.Evictions
	}
	for _, l := range s.lookups {
		if h := l.Health(); h.Degraded {
			c.Degraded = fmt.Sprintf("redis unreachable since %s: %s", h.Since.UTC().Format(time.RFC3339), h.Err)
		}
	}
	return c
}

// FormatFirings formats firings as "rule=N ..." sorted by rule.
func FormatFirings(f map[string]int64) string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, f[n])
	}
	return strings.Join(parts, " ")
}

// Invalidator returns an invalidator that drops cached customers and
// tracks as soon as their hashes change in Redis (keyspace notifications,
// or cfg.Channel), so that, say, a customer upgraded to Gold stops getting
// upgrade ads within a second instead of after the cache's TTL. Run it in a
// goroutine of its own.
func (s *Scenario) Invalidator(cfg enrich.InvalidatorConfig) *enrich.Invalidator {
	iv := enrich.NewInvalidator(s.rdb, cfg)
	iv.Watch(s.cfg.Prefix+"customer:", s.cust)
	iv.Watch(s.cfg.Prefix+"track:", s.track)
	return iv
}

// warnOnly returns a logger writing l's warnings and errors only.
func warnOnly(l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}
func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }

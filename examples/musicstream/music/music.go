// Package music is the music-stream scenario as Go sees it: the job file
// examples/musicstream/job.yaml (input schema, the customer and track
// lookups, the repeats window, the rules and the targets), loaded with what
// only Go can add, the ad_score function over the live ad-response model;
// and the demo's reference tables (cust.csv, music.csv). The musicstream
// example and the benchmarks build their pipelines with it.
package music

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// RepeatsWindow is the job's count-within window of repeated plays.
const RepeatsWindow = "repeats"

// JobPath returns the path of examples/musicstream/job.yaml in the source
// tree this package was built from (for tests and tools run from it; a
// binary embeds the file instead).
func JobPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "job.yaml")
}

// ParseJob loads a music-stream job file's content with ad_score (see
// CEL); name is its path.
func ParseJob(name string, src []byte, score Scorer) (*job.Job, error) {
	return job.Parse(name, src, job.Options{CEL: CEL(score)})
}

// LoadJob reads and loads a music-stream job file (see ParseJob).
func LoadJob(path string, score Scorer) (*job.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("music: %w", err)
	}
	return ParseJob(path, src, score)
}

// Config configures a Scenario. Zero values mean the defaults.
type Config struct {
	// Prefix goes before every Redis key read or written.
	Prefix string
	// Job is the job. Default: job.yaml of the source tree (JobPath),
	// without a model behind ad_score.
	Job *job.Job
	// Rules, if set, replaces the job's rules: a set compiled in Job.Env
	// (Job.Env.LoadFile), such as the -rules file of the example. Reload a
	// new set through the job (Job().WithRules, then Built().Reload), which
	// refuses a set the built operators and targets cannot serve.
	Rules *rules.RuleSet
	// Explain adds the explain field to every emission.
	Explain bool
	// Logger receives the scenario's logs. Default: discard.
	Logger *slog.Logger
	// Analytics, if set, builds a partition's analytics operator (e.g.
	// analytics.Factory.Operator), run as a branch beside the window and
	// the order; it consumes the enriched plays and emits nothing. Leave it
	// nil for a backtest, which must write nothing.
	Analytics func(stream.PartitionID) (stream.Operator, error)
}

// Scenario is the job built against a Redis: each partition's operators,
// the targets, the live rules and the counters.
type Scenario struct {
	job   *job.Job
	built *job.Built
}

// New builds the scenario reading and writing rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Scenario, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	j := cfg.Job
	if j == nil {
		var err error
		if j, err = LoadJob(JobPath(), nil); err != nil {
			return nil, err
		}
	}
	if cfg.Rules != nil {
		var err error
		if j, err = j.WithRules(cfg.Rules); err != nil {
			return nil, err
		}
	}
	// The dashboard's analytics read the track of each play: both lookups
	// are built whatever the rules read.
	var always []string
	if cfg.Analytics != nil {
		for _, l := range j.Lookups {
			always = append(always, l.Name)
		}
	}
	b, err := j.Build(job.BuildConfig{Redis: rdb, Prefix: cfg.Prefix, Explain: cfg.Explain, Logger: cfg.Logger,
		Tap: cfg.Analytics, Lookups: always})
	if err != nil {
		return nil, err
	}
	return &Scenario{job: j, built: b}, nil
}

// Job returns the scenario's job.
func (s *Scenario) Job() *job.Job { return s.job }

// Built returns the job's built parts.
func (s *Scenario) Built() *job.Built { return s.built }

// Rules returns the live rule set.
func (s *Scenario) Rules() *rules.RuleSet { return s.built.Master().Live() }

// Master is the engine that holds the live rule set. Swap rules through
// Built().Reload, which checks them against what was built and propagates
// them; a set swapped into Master directly skips those checks and needs
// Propagate.
func (s *Scenario) Master() *rules.Engine { return s.built.Master() }

// Propagate swaps the master's live rule set into every partition's engine.
func (s *Scenario) Propagate() { s.built.Propagate() }

// Upstream returns the operators in front of the rules engine for one
// partition (dedup, lookups, window and order), for a backtest.
func (s *Scenario) Upstream() ([]stream.Operator, error) { return s.built.Upstream() }

// Operators builds the chain of one partition's task; use it with
// stream.Pipeline.ViaPartitioned.
func (s *Scenario) Operators(pid stream.PartitionID) ([]stream.Operator, error) {
	return s.built.Operators(pid)
}

// Targets returns the job's Redis targets (interest, ads, sms, deadletter).
func (s *Scenario) Targets() (*targets.Router, error) { return s.built.Router(), nil }

// Late returns the sink of late events (the job's late target), given the
// pipeline's watermark.
func (s *Scenario) Late(wm func() int64) stream.Sink { return s.built.LateSink(wm) }

// Counters are the scenario's totals over every partition.
type Counters struct {
	Duplicates int64 // duplicate deliveries dropped
	Matches    int64 // "repeats" matches
	Evictions  int64 // window state dropped by its bounds
	// Early, Confirmed and Corrections are the repeats matches emitted on
	// arrival, confirmed by the event-time decision, and emitted by it as
	// corrections (job.WindowCounts).
	Early, Confirmed, Corrections int64
	Firings                       map[string]int64 // emissions per rule
	RuleErrors                    map[string]int64 // runtime errors per rule
	// WindowErrors are the runtime errors of each window's where: (or
	// pattern conditions), by window.
	WindowErrors map[string]int64
	Degraded     string // non-empty while Redis lookups fail
}

// Counters sums the counters of every partition's operators.
func (s *Scenario) Counters() Counters {
	c := s.built.Counters()
	w := c.Windows[RepeatsWindow]
	werrs := map[string]int64{}
	for name, wc := range c.Windows {
		werrs[name] = wc.Errors
	}
	return Counters{Duplicates: c.Duplicates, Matches: w.Results, Evictions: w.Evictions, Early: w.Early, Confirmed: w.Confirmed,
		Corrections: w.Corrections, Firings: c.Firings,
		RuleErrors: c.RuleErrors, WindowErrors: werrs, Degraded: c.Degraded}
}

// Errors returns the runtime errors of the rules that had any, by rule,
// and of the windows that had any, as window:<name>.
func (c Counters) Errors() map[string]int64 {
	errs := map[string]int64{}
	for name, n := range c.RuleErrors {
		if n > 0 {
			errs[name] = n
		}
	}
	for name, n := range c.WindowErrors {
		if n > 0 {
			errs["window:"+name] = n
		}
	}
	return errs
}

// FormatFirings formats firings as "rule=N ..." sorted by rule.
func FormatFirings(f map[string]int64) string { return job.FormatCounts(f) }

// Invalidator returns an invalidator that drops cached customers and
// tracks as soon as their hashes change in Redis (keyspace notifications,
// or cfg.Channel), so that, say, a customer upgraded to Gold stops getting
// upgrade ads within a second instead of after the cache's TTL. Run it in a
// goroutine of its own.
func (s *Scenario) Invalidator(cfg enrich.InvalidatorConfig) *enrich.Invalidator {
	return s.built.Invalidator(cfg)
}

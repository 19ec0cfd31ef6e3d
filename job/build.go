package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
	"github.com/rulestream/rulestream/window"
)

// BuildConfig configures Build. Zero values mean the defaults.
type BuildConfig struct {
	// Redis serves the lookups and the targets. Required.
	Redis redis.UniversalClient
	// Prefix goes before every Redis key the job reads or writes (lookups,
	// targets, idempotency markers), so that jobs can share a Redis.
	Prefix string
	// Explain adds an explain field to every emission (the values each
	// rule's condition read).
	Explain bool
	// Tap, when set, builds an operator run on each partition beside the
	// windows, on the enriched events (a dashboard's aggregates, say); what
	// it emits is dropped.
	Tap func(stream.PartitionID) (stream.Operator, error)
	// Lookups names lookups built even when no rule reads them (for a Tap
	// that reads their records).
	Lookups []string
	// Targets tunes the Redis sinks (batching, retries, marker TTL); its
	// Name, Writes and MarkerPrefix are set per target.
	Targets targets.Config
	// Logger receives the job's logs. Default: discard.
	Logger *slog.Logger
	// Clock is the processing-time clock (caches, batching). Default: the
	// system clock.
	Clock stream.Clock
}

// Built is a job made into a pipeline's parts: the operators of each
// partition, the targets, and the live rule set, which it hot-swaps into
// every partition's engine.
type Built struct {
	job    *Job
	plan   Plan
	cfg    BuildConfig
	master *rules.Engine
	caches map[string]*enrich.Cache
	router *targets.Router
	late   *targets.Router  // nil without a late target
	protos []*enrich.Lookup // one per built lookup, for the invalidator

	mu      sync.Mutex
	parts   map[*part]struct{} // the operators of live partitions (and lanes)
	retired Counters           // the counts of partitions released
}

// part holds the operators of one partition's (or lane's) chain whose
// counters Built sums: registered by Operators, dropped by its engine's
// Release when the runner drops the partition.
type part struct {
	engine  *rules.Engine
	windows map[string][]windowStats
	dedups  []*window.Dedup
	lookups []*enrich.Lookup
	filters map[string][]*rules.Filter
}

func newPart() *part {
	return &part{windows: map[string][]windowStats{}, filters: map[string][]*rules.Filter{}}
}

type windowStats interface{ Stats() window.Stats }

// Build makes the job's parts against a Redis.
func (j *Job) Build(cfg BuildConfig) (*Built, error) {
	if cfg.Redis == nil {
		return nil, errors.New("job: Build needs a Redis client")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	plan := j.Plan()
	for _, name := range cfg.Lookups {
		if j.lookup(name).Name == "" {
			return nil, fmt.Errorf("job: BuildConfig.Lookups: no lookup %q", name)
		}
		if !slices.Contains(plan.Lookups, name) {
			plan.Lookups = append(plan.Lookups, name)
		}
	}
	slices.SortStableFunc(plan.Lookups, func(a, b string) int { return cmp.Compare(j.lookupIndex(a), j.lookupIndex(b)) })
	b := &Built{job: j, plan: plan, cfg: cfg, caches: map[string]*enrich.Cache{}, parts: map[*part]struct{}{},
		retired: Counters{Windows: map[string]WindowCounts{}, Firings: map[string]int64{}, RuleErrors: map[string]int64{}}}
	var err error
	if b.master, err = rules.NewEngine(j.Rules, b.engineConfig(cfg.Logger)); err != nil {
		return nil, err
	}
	for _, name := range b.plan.Lookups {
		l := j.lookup(name)
		cc := enrich.CacheConfig{MaxEntries: l.CacheEntries, TTL: l.CacheTTL, Clock: cfg.Clock}
		if cc.MaxEntries == 0 {
			cc.MaxEntries = 1 << 20
		}
		if b.caches[name], err = enrich.NewCache(cc); err != nil {
			return nil, fmt.Errorf("lookup %s: %w", name, err)
		}
		proto, err := b.newLookup(l)
		if err != nil {
			return nil, err
		}
		b.protos = append(b.protos, proto)
	}
	if b.router, b.late, err = j.targets(cfg); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Built) engineConfig(logger *slog.Logger) rules.EngineConfig {
	return rules.EngineConfig{IDField: b.job.Input.ID, Explain: b.cfg.Explain, Logger: logger, Clock: b.cfg.Clock}
}

func (j *Job) lookupIndex(name string) int {
	for i, l := range j.Lookups {
		if l.Name == name {
			return i
		}
	}
	return -1
}

// newLookup builds a lookup operator sharing the built cache.
func (b *Built) newLookup(l Lookup) (*enrich.Lookup, error) {
	lk, err := enrich.NewLookup(b.cfg.Redis, enrich.LookupConfig{Name: l.Name, Key: escape(b.cfg.Prefix) + l.Key, Schema: l.Schema,
		Unknown: unknownPolicy[l.Unknown], Cache: b.caches[l.Name], Clock: b.cfg.Clock, Logger: b.cfg.Logger.With("lookup", l.Name)})
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", l.Name, err)
	}
	return lk, nil
}

func (j *Job) lookup(name string) Lookup {
	for _, l := range j.Lookups {
		if l.Name == name {
			return l
		}
	}
	return Lookup{}
}

// escape makes a prefix literal inside a template.
func escape(prefix string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(prefix)
}

var unknownPolicy = map[string]enrich.Unknown{"pass": enrich.PassUnknown, "drop": enrich.DropUnknown, "deadletter": enrich.DeadLetterUnknown}

var writeOp = map[string]targets.Op{"stream": targets.OpStream, "list": targets.OpList, "sorted_set": targets.OpSortedSet,
	"set": targets.OpSet, "hash": targets.OpHash}

// targets builds one idempotent Redis sink per target, routed by name; the
// late target gets a router of its own (late events reach it through
// LateSink).
func (j *Job) targets(cfg BuildConfig) (*targets.Router, *targets.Router, error) {
	routes, late := map[string][]targets.Write{}, map[string][]targets.Write{}
	for _, t := range j.Targets {
		var ws []targets.Write
		for _, w := range t.Writes {
			ws = append(ws, targets.Write{Op: writeOp[w.Type], Key: escape(cfg.Prefix) + w.Key, Fields: w.Fields,
				Member: w.Member, Score: w.Score, NX: w.NX, LT: w.LT, MaxLen: w.MaxLen, IDField: w.IDField})
		}
		if t.Name == LateTarget {
			late[t.Name] = ws
		} else {
			routes[t.Name] = ws
		}
	}
	tc := cfg.Targets
	tc.MarkerPrefix = cfg.Prefix + "rulestream:done:"
	if tc.Logger == nil {
		tc.Logger = cfg.Logger
	}
	if tc.Clock == nil {
		tc.Clock = cfg.Clock
	}
	r, err := targets.NewRedisRouter(cfg.Redis, routes, tc)
	if err != nil || len(late) == 0 {
		return r, nil, err
	}
	l, err := targets.NewRedisRouter(cfg.Redis, late, tc)
	return r, l, err
}

// Plan returns what was built.
func (b *Built) Plan() Plan { return b.plan }

// Job returns the job the parts were built from (the first one: a reload
// swaps rules only).
func (b *Built) Job() *Job { return b.job }

// Master is the engine holding the live rule set; Reload swaps new rules in
// and Propagate copies them to every partition's engine.
func (b *Built) Master() *rules.Engine { return b.master }

// Router routes emissions (and dead letters, when the job has a deadletter
// target) to the Redis targets.
func (b *Built) Router() *targets.Router { return b.router }

// HasDeadLetter reports whether the job declares a deadletter target.
func (b *Built) HasDeadLetter() bool {
	for _, t := range b.job.Targets {
		if t.Name == DeadLetterTarget {
			return true
		}
	}
	return false
}

// Sinks returns every Redis sink of the targets (for their statistics).
func (b *Built) Sinks() []stream.Sink {
	s := b.router.Sinks()
	if b.late != nil {
		s = append(s, b.late.Sinks()...)
	}
	return s
}

// Operators builds the chain of one partition: dedup by the input's id,
// the lookups, the windows (each behind its where:) beside the plain
// events (through the event-time order when a rule needs it) and the Tap,
// then the rules engine. Use it with stream.Pipeline.ViaPartitioned.
func (b *Built) Operators(pid stream.PartitionID) ([]stream.Operator, error) {
	pt := newPart()
	up, err := b.upstream(pid, b.cfg.Tap, pt)
	if err != nil {
		return nil, err
	}
	// The master logs rule-set changes once; the partitions' engines log
	// only warnings (runtime errors of rules). The live set is read and the
	// part registered under the lock Propagate takes, so that no reload
	// falls between the two.
	b.mu.Lock()
	defer b.mu.Unlock()
	engine, err := rules.NewEngine(b.master.Live(), b.engineConfig(warnOnly(b.cfg.Logger)))
	if err != nil {
		return nil, err
	}
	pt.engine = engine
	b.parts[pt] = struct{}{}
	ops := append(up, &releasing{Engine: engine, b: b, part: pt})
	if g := b.job.newGuard(); g != nil {
		ops = append(ops, g)
	}
	return ops, nil
}

// releasing is a partition's rules engine that, when the runner drops the
// partition (stream.Releaser), takes the partition's operators out of
// Built's registry and keeps their counts: a consumer group's rebalances
// do not pile up state.
type releasing struct {
	*rules.Engine
	b    *Built
	part *part
}

// Release retires the partition's counts and forgets its operators.
func (r *releasing) Release() {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if _, ok := r.b.parts[r.part]; !ok {
		return
	}
	r.b.retired = addCounts(r.b.retired, r.part.counts())
	delete(r.b.parts, r.part)
}

// Upstream returns the operators in front of the rules engine for one
// partition, with no Tap (for a backtest, which writes nothing).
func (b *Built) Upstream() ([]stream.Operator, error) {
	return b.upstream(stream.PartitionID{}, nil, newPart())
}

// upstream builds the operators in front of the engine, recording in pt
// those whose counters Built sums.
func (b *Built) upstream(pid stream.PartitionID, tap func(stream.PartitionID) (stream.Operator, error), pt *part) ([]stream.Operator, error) {
	j := b.job
	var ops []stream.Operator
	if b.plan.Dedup {
		d, err := window.NewDedup(window.DedupConfig{Field: j.Input.ID})
		if err != nil {
			return nil, err
		}
		ops = append(ops, d)
		pt.dedups = append(pt.dedups, d)
	}
	for _, name := range b.plan.Lookups {
		lk, err := b.newLookup(j.lookup(name))
		if err != nil {
			return nil, err
		}
		ops = append(ops, lk)
		pt.lookups = append(pt.lookups, lk)
	}
	var branches []stream.Operator
	for _, name := range b.plan.Windows {
		w, _ := j.Window(name)
		op, stats, err := j.window(w)
		if err != nil {
			return nil, fmt.Errorf("window %s: %w", name, err)
		}
		stages := []stream.Operator{op}
		if w.Where != "" {
			f, err := j.Env.NewFilter(w.Name, w.Where, rules.FilterConfig{})
			if err != nil {
				return nil, fmt.Errorf("window %s: where: %w", name, err)
			}
			stages = []stream.Operator{f, op}
			pt.filters[name] = append(pt.filters[name], f)
		}
		branches = append(branches, newChain(stages...))
		pt.windows[name] = append(pt.windows[name], stats)
	}
	switch {
	case b.plan.Order:
		o, err := window.NewOrder(window.OrderConfig{Dedup: j.Input.ID})
		if err != nil {
			return nil, err
		}
		branches = append(branches, o)
	case b.plan.PerEvent && (len(branches) > 0 || tap != nil):
		branches = append(branches, stream.Map(func(*stream.Event) bool { return true }))
	}
	if tap != nil {
		op, err := tap(pid)
		if err != nil {
			return nil, err
		}
		branches = append(branches, op)
	}
	switch {
	case len(branches) == 1:
		ops = append(ops, branches[0])
	case len(branches) > 1:
		ops = append(ops, stream.Parallel(branches...))
	}
	return ops, nil
}

// window builds the operator of a window.
func (j *Job) window(w Window) (stream.Operator, windowStats, error) {
	wc := window.WindowConfig{Name: w.Name, KeyBy: w.Key, Dedup: j.Input.ID, MaxKeys: w.MaxKeys}
	for _, a := range w.Aggregates {
		wc.Aggs = append(wc.Aggs, aggregate(a))
	}
	pc := window.PatternConfig{Name: w.Name, KeyBy: w.Key, Within: w.Within, Dedup: j.Input.ID, MaxKeys: w.MaxKeys,
		MaxPending: w.MaxPending}
	early := j.EarlyFor(w)
	switch w.Type {
	case "count_within":
		op, err := window.NewCountWithin(window.CountWithinConfig{Name: w.Name, KeyBy: w.Key, Count: w.Count, Within: w.Within,
			Dedup: j.Input.ID, MaxKeys: w.MaxKeys, MaxPending: w.MaxPending, Early: early})
		return op, op, err
	case "new_value":
		op, err := window.NewNewValue(window.NewValueConfig{PatternConfig: pc, Field: w.Field, Early: early})
		return op, op, err
	case "distinct_count":
		op, err := window.NewDistinctCount(window.DistinctCountConfig{PatternConfig: pc, Field: w.Field, Count: w.Count, Early: early})
		return op, op, err
	case "sequence":
		var steps []window.Predicate
		for _, expr := range w.Steps {
			p, err := j.predicate(w.Name, expr)
			if err != nil {
				return nil, nil, err
			}
			steps = append(steps, p)
		}
		op, err := window.NewSequence(window.SequenceConfig{PatternConfig: pc, Steps: steps, MaxMatches: w.MaxMatches, Early: early})
		return op, op, err
	case "absence":
		start, err := j.predicate(w.Name, w.Start)
		if err != nil {
			return nil, nil, err
		}
		end, err := j.predicate(w.Name, w.End)
		if err != nil {
			return nil, nil, err
		}
		op, err := window.NewAbsence(window.AbsenceConfig{PatternConfig: pc, Start: start, End: end, MaxMatches: w.MaxMatches})
		return op, op, err
	case "tumbling":
		op, err := window.NewTumbling(window.TumblingConfig{WindowConfig: wc, Size: w.Size, Offset: w.Offset})
		return op, op, err
	case "sliding":
		op, err := window.NewSliding(window.SlidingConfig{WindowConfig: wc, Size: w.Size, Slide: w.Slide, Offset: w.Offset})
		return op, op, err
	case "session":
		op, err := window.NewSessions(window.SessionConfig{WindowConfig: wc, Gap: w.Gap})
		return op, op, err
	}
	return nil, nil, fmt.Errorf("unknown window type %q", w.Type)
}

func aggregate(a Aggregate) window.Aggregate {
	switch a.Func {
	case "sum":
		return window.Sum(a.Name, a.Field)
	case "min":
		return window.Min(a.Name, a.Field)
	case "max":
		return window.Max(a.Name, a.Field)
	case "first":
		return window.First(a.Name, a.Field)
	case "last":
		return window.Last(a.Name, a.Field)
	case "distinct":
		return window.DistinctCount(a.Name, a.Field)
	}
	return window.Count(a.Name)
}

// Propagate swaps the master's live rule set into every partition's engine.
func (b *Built) Propagate() {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := b.master.Live()
	for pt := range b.parts {
		if pt.engine != nil {
			pt.engine.Swap(live)
		}
	}
}

// ErrRestartNeeded is returned by Reload when the new job changes more than
// its rules: its input, lookups, windows, targets or what is built.
var ErrRestartNeeded = errors.New("job: the change needs a restart")

// Reload makes the rules of next live, if next builds the same parts as the
// running job: only its rules (conditions, payloads, cooldowns, targets of
// existing targets...) differ. Otherwise it returns an error wrapping
// ErrRestartNeeded that says what changed, and the running job stays as it
// is.
func (b *Built) Reload(next *Job) error {
	if why := b.job.structureDiff(next); why != "" {
		return fmt.Errorf("%w: %s", ErrRestartNeeded, why)
	}
	next.Live = b.job.Live // the same input
	np := next.Plan()
	for _, name := range b.cfg.Lookups { // built for the Tap whatever the rules read
		if !slices.Contains(np.Lookups, name) {
			np.Lookups = append(np.Lookups, name)
		}
	}
	slices.SortStableFunc(np.Lookups, func(a, c string) int { return cmp.Compare(next.lookupIndex(a), next.lookupIndex(c)) })
	if !b.plan.equal(np) {
		return fmt.Errorf("%w: the rules need other operators (%s, running %s)", ErrRestartNeeded, np, b.plan)
	}
	live := b.master.Live()
	if next.Rules.Version() == live.Version() {
		if !slices.Equal(next.Rules.Rules(), live.Rules()) {
			return fmt.Errorf("job: the rules changed but their version did not (%s): change version: in the job file, which every emission carries as rule_version", live.Version())
		}
		return nil
	}
	set := next.Rules
	if set.Env() != b.job.Env && next.rulesNode != nil {
		// Compile the rules again in the running job's environment: its
		// schemas are the events' (the engines read fields by position
		// only for them), and the unchanged rules keep their programs.
		var err error
		if set, err = b.job.Env.LoadYAML(next.File, next.src, next.rulesNode, next.version, live); err != nil {
			return err
		}
	}
	b.master.Swap(set)
	b.Propagate()
	return nil
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

// predicate compiles a pattern's condition for one operator (a Filter
// keeps an activation: each operator gets its own).
func (j *Job) predicate(name, expr string) (window.Predicate, error) {
	f, err := j.Env.NewFilter(name, expr, rules.FilterConfig{})
	if err != nil {
		return nil, err
	}
	return f.Match, nil
}

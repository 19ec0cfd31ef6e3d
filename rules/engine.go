package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/rulestream/rulestream/stream"
)

// EngineConfig configures an Engine. Zero values mean the defaults.
type EngineConfig struct {
	// Explain adds an "explain" string field to every emission: compact
	// JSON with the rule, the set's version and the values the condition
	// read.
	Explain bool
	// PassThrough forwards the input events too, after their emissions.
	PassThrough bool
	// KeyField names the event field whose text is the firing key (cooldown
	// key and the key of emissions). Default none: the event's Key (set by
	// the decoder from the input's key fields; for a time window's result,
	// the window's key). When the event lacks the field, its Key is used.
	KeyField string
	// IDField names the event field holding the input's id (the field
	// duplicates are recognised by). An emission's ID, which makes its write
	// idempotent, is "<rule>:<key>:<id>"; without an id field it uses the
	// event's position instead (see emissionID), which a replay of the same
	// source reproduces but another copy of the data under another name
	// does not.
	IDField string
	// LogInterval is how often runtime errors of a rule, and cooldowns shed
	// for the memory budget, are logged at most (processing time, on
	// Clock). Default 1m.
	LogInterval time.Duration
	// Clock is the processing-time clock for rate-limited logging. Default:
	// the pipeline's clock (see Start), else the system clock.
	Clock stream.Clock
	// Logger receives reloads and runtime errors. Default: discard.
	Logger *slog.Logger
}

func (c *EngineConfig) setDefaults() {
	if c.LogInterval <= 0 {
		c.LogInterval = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine is a stream.Operator evaluating the live rule set on each input
// event and emitting one event per firing. It is also a
// stream.Snapshotter of its cooldown state, and a stream.Shedder of it
// (see Shed). Process, Advance, Snapshot, Restore and Shed are called from
// one goroutine (the runner's); Swap, Reload and Stats are safe from any
// goroutine.
type Engine struct {
	cfg      EngineConfig
	slab     []stream.Value // emissions' fields are cut from it (values)
	joinSlab []stream.Join  // and their joins (joins)
	idBuf    []byte         // emissionID's scratch
	idSchema *stream.Schema // the schema idIndex is of
	idIndex  int            // EngineConfig.IDField's index in idSchema
	live     atomic.Pointer[liveSet]
	mu       sync.Mutex // guards counters and swaps
	counters map[string]*ruleCounters
	reloads  atomic.Int64
	rejected atomic.Int64

	clock    stream.Clock
	acts     map[*Env]*activation
	cool     cooldowns
	coolOf   *liveSet    // the set coolRefs were resolved for
	coolGen  int         // the cooldowns generation of coolRefs
	coolRefs []*ruleCool // per rule of coolOf: its cooldown entries
	keyBuf   []byte
	key      string // firing key of the current event, once computed
	keyDone  bool
	ckey     coolKey // cooldown form of key
	ckeyDone bool
	evalCtx  context.Context
	coolSize atomic.Int64

	shed       float64      // a Shed request's fraction, until the next call
	evictions  atomic.Int64 // cooldown entries shed
	shedLogAt  int64        // when shedding was last logged (unix ns, on clock)
	shedLogged int64        // evictions as of that log
}

// liveSet is a rule set with its counters, swapped as one.
type liveSet struct {
	set  *RuleSet
	ctrs []*ruleCounters // per compiled rule
}

var (
	_ stream.Operator    = (*Engine)(nil)
	_ stream.Starter     = (*Engine)(nil)
	_ stream.Snapshotter = (*Engine)(nil)
	_ stream.Shedder     = (*Engine)(nil)
)

// NewEngine returns an engine running set.
func NewEngine(set *RuleSet, cfg EngineConfig) (*Engine, error) {
	if set == nil {
		return nil, errors.New("rules: NewEngine: nil rule set")
	}
	cfg.setDefaults()
	en := &Engine{cfg: cfg, counters: map[string]*ruleCounters{}, clock: cfg.Clock,
		acts: map[*Env]*activation{}, cool: newCooldowns()}
	if en.clock == nil {
		en.clock = stream.SystemClock{}
	}
	en.Swap(set)
	return en, nil
}

// Start adopts the pipeline's clock when none was configured.
func (en *Engine) Start(_ context.Context, env stream.Env) error {
	if en.cfg.Clock == nil && env.Clock != nil {
		en.clock = env.Clock
	}
	return nil
}

// Live returns the rule set being evaluated.
func (en *Engine) Live() *RuleSet { return en.live.Load().set }

// Swap makes set the live rule set, atomically: each batch is evaluated
// entirely by one set. It returns the previous set. Cooldowns carry over
// by rule name.
func (en *Engine) Swap(set *RuleSet) *RuleSet {
	en.mu.Lock()
	defer en.mu.Unlock()
	ls := &liveSet{set: set, ctrs: make([]*ruleCounters, len(set.rules))}
	for i, c := range set.rules {
		ctr, ok := en.counters[c.Name]
		if !ok {
			ctr = &ruleCounters{}
			en.counters[c.Name] = ctr
		}
		ls.ctrs[i] = ctr
	}
	old := en.live.Swap(ls)
	if old == nil {
		en.cfg.Logger.Info("rules live", "version", set.version, "source", set.source, "rules", len(set.rules))
		return nil
	}
	en.reloads.Add(1)
	en.cfg.Logger.Info("rules live", "version", set.version, "source", set.source, "rules", len(set.rules), "previous", old.set.version)
	return old.set
}

// Reload compiles data (a YAML rule set named name) in the live set's
// environment and swaps it in. An invalid set is rejected with its errors,
// counted and logged, and the live set keeps running. A set whose version
// equals the live one is not swapped again. Rules whose declarations are
// unchanged reuse their compiled programs.
func (en *Engine) Reload(name string, data []byte) error {
	live := en.Live()
	set, err := live.env.load(name, data, live)
	if err != nil {
		en.rejected.Add(1)
		en.cfg.Logger.Error("rules rejected; keeping the live set", "source", name, "live", live.version, "err", err)
		return err
	}
	if set.version == live.version {
		return nil
	}
	en.Swap(set)
	return nil
}

// Process evaluates the live set on each event of the batch.
func (en *Engine) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	if en.shed > 0 {
		en.shedNow()
	}
	ls := en.live.Load()
	base := en.activation(ls.set.env)
	en.evalCtx = ctx
	if en.coolOf != ls || en.coolGen != en.cool.gen {
		en.coolRefs = en.coolRefs[:0]
		for _, c := range ls.set.rules {
			en.coolRefs = append(en.coolRefs, en.cool.rule(c.Name))
		}
		en.coolOf, en.coolGen = ls, en.cool.gen
	}
	var winAct *activation // the activation of the last window seen
	for i := range in {
		ev := &in[i]
		act := base
		if ev.Window != nil {
			if winAct == nil || winAct.env.decl.Name != ev.Window.Name {
				we, ok := ls.set.env.Window(ev.Window.Name)
				if !ok { // no rule reads this window
					if en.cfg.PassThrough {
						out.Emit(*ev)
					}
					continue
				}
				winAct = en.activation(we)
			}
			act = winAct
		}
		act.set(ev, ls.set.joins)
		en.keyDone = false
		for j, c := range ls.set.rules {
			if (c.Window == "") != (ev.Window == nil) || (ev.Window != nil && ev.Window.Name != c.Window) {
				continue
			}
			en.evalRule(ls, c, ls.ctrs[j], act, out)
		}
		if en.cfg.PassThrough {
			out.Emit(*ev)
		}
	}
	base.clear()
	if winAct != nil {
		winAct.clear()
	}
	en.evalCtx = nil
	for _, ctr := range ls.ctrs {
		ctr.publish()
	}
	en.coolSize.Store(int64(en.cool.len()))
	return nil
}

func (en *Engine) activation(env *Env) *activation {
	a, ok := en.acts[env]
	if !ok {
		a = newActivation(env)
		en.acts[env] = a
	}
	return a
}

func (en *Engine) evalRule(ls *liveSet, c *compiled, ctr *ruleCounters, act *activation, out *stream.Emitter) {
	for _, j := range c.needJoins {
		if !act.have[j] {
			ctr.local.skipped++
			return
		}
	}
	ctr.local.evals++
	if holds, ok := c.native.eval(act); ok {
		if !holds {
			return
		}
	} else {
		v, err := en.eval(c.cond, c.condTracked, act)
		if err != nil {
			en.runtimeError(c, ctr, err)
			return
		}
		if v != types.True {
			return
		}
	}
	key := en.firingKey(act.ev)
	if c.Cooldown > 0 && !en.cool.allow(en.coolRefs[c.index], en.coolKey(), act.ev.Time, c.Cooldown) {
		ctr.local.suppressed++
		return
	}
	em, err := en.emission(ls.set, c, act, key)
	if err != nil {
		en.runtimeError(c, ctr, fmt.Errorf("payload: %w", err))
		return
	}
	ctr.local.firings++
	out.Emit(em)
}

func (en *Engine) eval(prg cel.Program, tracked bool, act *activation) (v ref.Val, err error) {
	if tracked {
		ctx := en.evalCtx
		if ctx == nil {
			ctx = context.Background()
		}
		v, _, err = prg.ContextEval(ctx, act)
		return v, err
	}
	if act.frame != nil {
		v, _, err = prg.Eval(act.frame)
	} else {
		v, _, err = prg.Eval(act)
	}
	return v, err
}

// runtimeError counts an evaluation error and logs it at most once per
// LogInterval per rule.
func (en *Engine) runtimeError(c *compiled, ctr *ruleCounters, err error) {
	n := ctr.errors.Add(1)
	now := en.clock.Now()
	last := ctr.lastLog.Load()
	if last != 0 && now.UnixNano()-last < int64(en.cfg.LogInterval) {
		return
	}
	ctr.lastLog.Store(now.UnixNano())
	prev := ctr.loggedErrs.Swap(n)
	en.cfg.Logger.Warn("rule runtime errors", "rule", c.Name, "errors_total", n, "since_last_log", n-prev, "err", err)
}

// Advance expires cooldown entries the watermark has passed.
func (en *Engine) Advance(_ context.Context, watermark int64, _ *stream.Emitter) error {
	if en.shed > 0 {
		en.shedNow()
	}
	en.cool.expire(watermark)
	en.coolSize.Store(int64(en.cool.len()))
	return nil
}

// EmitsInArrivalOrder says that the engine emits each firing while it
// takes the event that fired it, with the event's Seq, and nothing on the
// watermark (stream.ArrivalOrdered). Rules in event-time order see their
// events through an ordering stage before it, which does not say so.
func (en *Engine) EmitsInArrivalOrder() bool { return true }

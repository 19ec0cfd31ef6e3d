package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/stream"
)

// FilterConfig configures a Filter. Zero values mean the defaults.
type FilterConfig struct {
	// LogInterval is how often runtime errors are logged at most
	// (processing time). Default 1m.
	LogInterval time.Duration
	// Clock times the logging. Default: the pipeline's clock.
	Clock stream.Clock
	// Logger receives runtime errors. Default: the pipeline's logger.
	Logger *slog.Logger
}

// Filter is a stream.Operator that keeps the events for which a CEL
// condition over event, the joined records and now holds: a window's
// where:. An event lacking a record the condition reads, or on which the
// condition fails at run time (counted, logged at most once per
// LogInterval), is not kept.
type Filter struct {
	name    string
	expr    string
	cfg     FilterConfig
	env     *Env
	prg     cel.Program
	tracked bool
	native  *native
	joins   []int
	act     *activation
	clock   stream.Clock
	logger  *slog.Logger

	passed, dropped, skipped, errs atomic.Int64
	lastLog                        atomic.Int64
}

// FilterStats are a Filter's counters.
type FilterStats struct {
	Passed  int64 // events kept
	Dropped int64 // events for which the condition was false
	Skipped int64 // events lacking a record the condition reads
	Errors  int64 // runtime errors (the event is not kept)
}

var (
	_ stream.Operator = (*Filter)(nil)
	_ stream.Starter  = (*Filter)(nil)
)

// NewFilter compiles expr, a bool CEL condition over event, the joined
// records and now (not window), into a filter named name (for logs).
// Compile errors are *LoadError values (Field "where", with ExprLine and
// ExprCol inside expr).
func (e *Env) NewFilter(name, expr string, cfg FilterConfig) (*Filter, error) {
	if e.decl != nil {
		return nil, errors.New("rules: NewFilter: use the base environment")
	}
	fail := func(msg string) error { return &LoadError{Field: "where", Msg: msg} }
	if expr == "" {
		return nil, fail("empty condition")
	}
	ast, iss := e.cel.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var errs []error
		for _, fe := range celErrors("where", expr, iss) {
			errs = append(errs, &LoadError{Field: "where", Msg: fe.msg, ExprLine: fe.line, ExprCol: fe.col})
		}
		return nil, joinLoadErrors(errs)
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, fail(fmt.Sprintf("must return bool, got %s", ast.OutputType()))
	}
	vars, _ := e.references(ast)
	if vars["window"] {
		return nil, fail("a window's where: reads the events entering it, not window")
	}
	prg, tracked, err := e.program(ast)
	if err != nil {
		return nil, fail(err.Error())
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = time.Minute
	}
	f := &Filter{name: name, expr: expr, cfg: cfg, env: e, prg: prg, tracked: tracked, joins: e.neededJoins(vars),
		act: newActivation(e), clock: cfg.Clock, logger: cfg.Logger}
	if !tracked {
		f.native = e.nativeCond(ast)
	}
	return f, nil
}

// Start adopts the pipeline's clock and logger where none was configured.
func (f *Filter) Start(_ context.Context, env stream.Env) error {
	if f.clock == nil {
		f.clock = env.Clock
	}
	if f.logger == nil {
		f.logger = env.Logger
	}
	return nil
}

// Process keeps the events for which the condition holds.
func (f *Filter) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	var passed, dropped, skipped int64
	for i := range in {
		ev := &in[i]
		f.act.set(ev, f.joins)
		ok := true
		for _, j := range f.joins {
			ok = ok && f.act.have[j]
		}
		if !ok {
			skipped++
			continue
		}
		holds, err := f.eval(ctx)
		switch {
		case err != nil:
			f.runtimeError(err)
		case holds:
			passed++
			out.Emit(*ev)
		default:
			dropped++
		}
	}
	f.act.clear()
	f.passed.Add(passed)
	f.dropped.Add(dropped)
	f.skipped.Add(skipped)
	return nil
}

// Match evaluates the condition on one event: false (and no error) when
// the event lacks a record the condition reads. It is the form a pattern's
// step takes (window.Predicate); like Process, it is called from one
// goroutine: give each operator its own Filter.
func (f *Filter) Match(ev *stream.Event) (bool, error) {
	f.act.set(ev, f.joins)
	defer f.act.clear()
	for _, j := range f.joins {
		if !f.act.have[j] {
			return false, nil
		}
	}
	return f.eval(context.Background())
}

func (f *Filter) eval(ctx context.Context) (bool, error) {
	if f.native != nil {
		if holds, ok := f.native.eval(f.act); ok {
			return holds, nil
		}
	}
	var v interface{ Value() any }
	var err error
	switch {
	case f.tracked:
		v, _, err = f.prg.ContextEval(ctx, f.act)
	case f.act.frame != nil:
		v, _, err = f.prg.Eval(f.act.frame)
	default:
		v, _, err = f.prg.Eval(f.act)
	}
	if err != nil {
		return false, err
	}
	return v == types.True, nil
}

func (f *Filter) runtimeError(err error) {
	n := f.errs.Add(1)
	if f.logger == nil {
		return
	}
	now := time.Now().UnixNano()
	if f.clock != nil {
		now = f.clock.Now().UnixNano()
	}
	if last := f.lastLog.Load(); last != 0 && now-last < int64(f.cfg.LogInterval) {
		return
	}
	f.lastLog.Store(now)
	f.logger.Warn("where: runtime errors (events not kept)", "filter", f.name, "errors_total", n, "err", err)
}

// Advance does nothing: a filter keeps no state.
func (f *Filter) Advance(context.Context, int64, *stream.Emitter) error { return nil }

// Stats returns the filter's counters. Safe from any goroutine.
func (f *Filter) Stats() FilterStats {
	return FilterStats{Passed: f.passed.Load(), Dropped: f.dropped.Load(), Skipped: f.skipped.Load(), Errors: f.errs.Load()}
}

// String returns the filter's name and condition.
func (f *Filter) String() string { return f.name + ": " + f.expr }

// Joins returns the names of the joined records the condition reads.
func (f *Filter) Joins() []string {
	out := make([]string, 0, len(f.joins))
	for _, j := range f.joins {
		out = append(out, f.env.joins[j])
	}
	return out
}

// EmitsInArrivalOrder says that a filter passes the events it keeps as it
// takes them (stream.ArrivalOrdered).
func (f *Filter) EmitsInArrivalOrder() bool { return true }

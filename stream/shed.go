package stream

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Shedder is implemented by operators whose state can be shed under memory
// pressure (Config.MemoryBudget). Shed asks the operator to drop about
// fraction (0 < fraction <= 1) of the state it holds, oldest first, by the
// policy of its hard bounds (a window fires early, a key's partial match or
// known values are forgotten, a buffered event is released early), at the
// start of its next Process or Advance call, whose emitter carries what
// that emits; what it drops is counted among its evictions and logged as
// they are. It is called between calls, from the goroutine that makes them.
type Shedder interface {
	Shed(fraction float64)
}

// governor keeps the live heap under Config.MemoryBudget: it sets the Go
// runtime's soft memory limit to the budget (unless a lower one is set,
// GOMEMLIMIT, which is then the budget),
// so that the collector works harder as the heap nears it, and when the
// live heap measured by the last collection passes 90% of the budget it
// asks every Shedder among the operators to drop a fraction of its state
// that brings the heap back to 80% of the budget (at least an eighth, at
// most a half); it asks again only after two more collections, so that
// what was dropped has been collected and measured.
type governor struct {
	budget   uint64
	samples  []metrics.Sample
	waitTill uint64 // the GC cycle count to wait for before shedding again
	logged   time.Time
	restore  func()
}

func newGovernor(budget int64) *governor {
	if budget <= 0 {
		return nil
	}
	g := &governor{samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}}
	if prev := debug.SetMemoryLimit(-1); budget < prev {
		debug.SetMemoryLimit(budget)
		g.restore = func() { debug.SetMemoryLimit(prev) }
	} else {
		budget = prev // a lower limit is set (GOMEMLIMIT): it is the budget
	}
	g.budget = uint64(budget)
	return g
}

func (g *governor) stop() {
	if g != nil && g.restore != nil {
		g.restore()
	}
}

// check measures the live heap and returns the fraction of their state
// the operators must shed (0: none).
func (g *governor) check() (live uint64, fraction float64) {
	metrics.Read(g.samples)
	if g.samples[0].Value.Kind() != metrics.KindUint64 || g.samples[1].Value.Kind() != metrics.KindUint64 {
		return 0, 0
	}
	live, cycles := g.samples[0].Value.Uint64(), g.samples[1].Value.Uint64()
	if cycles < g.waitTill || live < g.budget/10*9 {
		return live, 0
	}
	g.waitTill = cycles + 2
	return live, min(0.5, max(0.125, 1-0.8*float64(g.budget)/float64(live)))
}

// govern sheds operator state when the live heap passes the budget.
func (r *runner) govern(now time.Time) {
	g := r.gov
	if g == nil {
		return
	}
	live, fraction := g.check()
	if fraction == 0 {
		return
	}
	n := 0
	_ = r.eachTask(func(t *task) error {
		for _, lane := range append([]*task{t}, t.lanes...) {
			for _, op := range lane.ops {
				if sh, ok := op.(Shedder); ok {
					sh.Shed(fraction)
					n++
				}
			}
		}
		return nil
	})
	r.p.stats.sheds.Add(1)
	if g.logged.IsZero() || now.Sub(g.logged) >= time.Minute {
		g.logged = now
		r.cfg.Logger.Warn("memory budget reached: the operators drop the oldest part of their state (counted as evictions)",
			"live_heap_mib", live>>20, "budget_mib", g.budget>>20, "fraction", fraction, "operators", n, "times", r.p.stats.sheds.Load())
	}
}

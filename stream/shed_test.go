package stream

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// hoarder keeps 64 KiB per event forever, unless asked to shed.
type hoarder struct {
	held  [][]byte
	shed  float64
	sheds int
	max   int
}

func (h *hoarder) Shed(fraction float64) { h.shed = fraction }

func (h *hoarder) apply() {
	if h.shed > 0 {
		n := int(float64(len(h.held))*h.shed + 0.999)
		clear(h.held[:n])
		h.held = append(h.held[:0], h.held[n:]...)
		h.shed = 0
		h.sheds++
	}
}

func (h *hoarder) Process(_ context.Context, in []Event, out *Emitter) error {
	h.apply()
	for range in {
		h.held = append(h.held, make([]byte, 64<<10))
	}
	h.max = max(h.max, len(h.held))
	out.EmitAll(in)
	return nil
}

func (h *hoarder) Advance(context.Context, int64, *Emitter) error {
	h.apply()
	return nil
}

// An operator holding 64 KiB per event, over 8,000 events (500 MiB), under
// a 96 MiB budget: it is asked to shed, the run ends, and it never held
// more than the budget's worth; the budget is counted and the runtime's
// memory limit restored.
func TestMemoryBudgetSheds(t *testing.T) {
	before := debugMemoryLimit()
	times := make([]int64, 8000)
	for i := range times {
		times[i] = g2014 + int64(i)
	}
	h := &hoarder{}
	p := New("budget", Config{MemoryBudget: 96 << 20, MaxAhead: -1})
	p.From(NewSliceSource("in", timedEvents(times), 64)).Via(Parallel(h)).To(Discard)
	require.NoError(t, p.Run(context.Background()))
	st := p.Stats()
	t.Logf("sheds %d (operator %d), held at most %d MiB, at the end %d MiB", st.Sheds, h.sheds, h.max*64>>10, len(h.held)*64>>10)
	require.Positive(t, st.Sheds)
	require.Positive(t, h.sheds)
	require.Less(t, h.max*64<<10, 2*96<<20, "held at most about the budget (it holds %d MiB at the end)", len(h.held)*64>>10>>10)
	require.Equal(t, before, debugMemoryLimit(), "the memory limit is restored")
	runtime.KeepAlive(h)

	// Without a budget nothing sheds.
	h = &hoarder{}
	p = New("nobudget", Config{MaxAhead: -1})
	p.From(NewSliceSource("in", timedEvents(times[:500]), 64)).Via(h).To(Discard)
	require.NoError(t, p.Run(context.Background()))
	require.Zero(t, p.Stats().Sheds)
	require.Zero(t, h.sheds)
}

func debugMemoryLimit() int64 { return debug.SetMemoryLimit(-1) }

// A lower limit already set (GOMEMLIMIT) is the budget; a budget below it
// becomes the runtime's limit, restored at the end.
func TestGovernorBudgetAndLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(100 << 20)
	defer debug.SetMemoryLimit(prev)
	g := newGovernor(1 << 30)
	require.Equal(t, uint64(100<<20), g.budget)
	require.Equal(t, int64(100<<20), debugMemoryLimit())
	g.stop()
	g = newGovernor(50 << 20)
	require.Equal(t, uint64(50<<20), g.budget)
	require.Equal(t, int64(50<<20), debugMemoryLimit())
	g.stop()
	require.Equal(t, int64(100<<20), debugMemoryLimit())
	require.Nil(t, newGovernor(0))
}

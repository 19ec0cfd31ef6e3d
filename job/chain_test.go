package job

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// chainJob has a count_within window behind a where: (plays with n > 1.0
// only), read by a rule: its operator is a chain of the filter and the
// window.
const chainJob = `windows:
  - name: w
    type: count_within
    key: user
    count: 2
    within: 10m
    where: event.n > 1.0
rules:
  - name: twice
    window: w
    when: window.count >= 2
    target: out
`

// newTestChain returns the job and a fresh chain of its window w: its
// where: filter, then the window; started.
func newTestChain(t *testing.T) (*Job, *chain) {
	t.Helper()
	j := mustParse(t, withBase(chainJob))
	return j, freshChain(t, j)
}

func freshChain(t *testing.T, j *Job) *chain {
	t.Helper()
	w, _ := j.Window("w")
	f, err := j.Env.NewFilter(w.Name, w.Where, rulesFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	op, _, err := j.window(w)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := newChain(f, op).(*chain)
	if !ok {
		t.Fatalf("newChain of two stages is a %T", newChain(f, op))
	}
	startOps(t, j, c)
	return c
}

// chainPlays: ann plays 3 times (the second with n 0.5, kept out by the
// where:), bob once.
func chainPlays(j *Job) []stream.Event {
	return []stream.Event{
		play(j, 1, "ann", 7, t0, 2),
		play(j, 2, "ann", 7, t0.Add(time.Minute), 0.5),
		play(j, 3, "ann", 7, t0.Add(2*time.Minute), 3),
		play(j, 4, "bob", 7, t0.Add(3*time.Minute), 5),
	}
}

func advance(t *testing.T, op stream.Operator, wm time.Time) *stream.Emitter {
	t.Helper()
	var out stream.Emitter
	if err := op.Advance(context.Background(), wm.UnixNano(), &out); err != nil {
		t.Fatalf("Advance: %v", err)
	}
	return &out
}

func processBatch(t *testing.T, op stream.Operator, in []stream.Event) *stream.Emitter {
	t.Helper()
	var out stream.Emitter
	if err := op.Process(context.Background(), in, &out); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return &out
}

type result struct {
	User       string
	Count      int64
	Start, End time.Time
}

func results(evs []stream.Event) []result {
	var out []result
	for _, ev := range evs {
		out = append(out, result{ev.Get("user").Text(), ev.Window.Count, time.Unix(0, ev.Window.Start).UTC(), time.Unix(0, ev.Window.End).UTC()})
	}
	return out
}

func TestChainProcessAdvance(t *testing.T) {
	j, c := newTestChain(t)
	out := processBatch(t, c, chainPlays(j))
	if len(out.Events()) != 0 {
		t.Fatalf("Process emitted %d events before the watermark", len(out.Events()))
	}
	// The match is decided once the watermark passes its last event. The
	// play of n 0.5 never entered the window: it would have completed the
	// match at t0+1m.
	out = advance(t, c, t0.Add(90*time.Second))
	if len(out.Events()) != 0 {
		t.Fatalf("Advance(t0+1m30s) emitted %v", results(out.Events()))
	}
	out = advance(t, c, t0.Add(3*time.Minute))
	want := []result{{"ann", 2, t0, t0.Add(2 * time.Minute)}}
	if got := results(out.Events()); !reflect.DeepEqual(got, want) {
		t.Errorf("Advance(t0+3m) emitted %v, want %v", got, want)
	}
	f := c.ops[0].(interface{ Stats() rulesFilterStats }).Stats()
	if f.Passed != 3 || f.Dropped != 1 {
		t.Errorf("filter stats %+v, want 3 passed, 1 dropped", f)
	}

	// A late play the where: keeps goes to the chain's late output; a late
	// play it keeps out goes nowhere.
	out = processBatch(t, c, []stream.Event{play(j, 5, "cat", 7, t0, 9), play(j, 6, "dan", 7, t0, 0.1)})
	if len(out.Events()) != 0 || len(out.LateEvents()) != 1 || out.LateEvents()[0].Get("user").Text() != "cat" {
		t.Errorf("late plays: events %d, late %v; want the cat play late only", len(out.Events()), results(out.LateEvents()))
	}
}

// TestChainAdvanceFlowsDown: what a stage emits on the watermark goes
// through the stages after it.
func TestChainAdvanceFlowsDown(t *testing.T) {
	j := mustParse(t, withBase(chainJob))
	w, _ := j.Window("w")
	op, _, err := j.window(w)
	if err != nil {
		t.Fatal(err)
	}
	mark := stream.Map(func(ev *stream.Event) bool { ev.Target = "marked"; return ev.Get("user").Text() != "bob" })
	c := newChain(op, mark)
	startOps(t, j, c)
	processBatch(t, c, []stream.Event{play(j, 1, "ann", 7, t0, 2), play(j, 2, "ann", 7, t0.Add(time.Minute), 2),
		play(j, 3, "bob", 7, t0, 2), play(j, 4, "bob", 7, t0.Add(time.Minute), 2)})
	out := advance(t, c, t0.Add(time.Hour))
	if got := results(out.Events()); len(got) != 1 || got[0].User != "ann" || out.Events()[0].Target != "marked" {
		t.Errorf("Advance emitted %v (targets %v), want ann's match, marked", got, out.Events())
	}
}

func TestNewChainOfOneIsTheStage(t *testing.T) {
	m := &failing{}
	if newChain(m) != stream.Operator(m) {
		t.Errorf("newChain of one stage is not the stage")
	}
}

// TestChainIsWhatBuildMakes: a window with a where: is built as the chain
// of the filter and the window, and counts what its where: keeps out.
func TestChainIsWhatBuildMakes(t *testing.T) {
	j := mustParse(t, withBase(chainJob))
	b := build(t, j)
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 {
		t.Fatalf("%d operators, want dedup, the chain and the engine", len(ops))
	}
	if _, ok := ops[1].(*chain); !ok {
		t.Fatalf("operator 1 is a %T, want *chain", ops[1])
	}
	startOps(t, j, ops...)
	got := process(t, ops, chainPlays(j), t0.Add(time.Hour))
	if want := []string{"twice>out"}; !reflect.DeepEqual(targetsOf(got), want) {
		t.Errorf("emissions %q, want %q", targetsOf(got), want)
	}
	c := b.Counters()
	if wc := c.Windows["w"]; wc.Results != 1 || wc.Filtered != 1 {
		t.Errorf("window counters %+v, want 1 result, 1 filtered", wc)
	}
	if c.Firings["twice"] != 1 {
		t.Errorf("firings %v", c.Firings)
	}
}

func TestChainSnapshotRestore(t *testing.T) {
	j, c := newTestChain(t)
	processBatch(t, c, chainPlays(j))
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := results(advance(t, c, t0.Add(time.Hour)).Events())
	if len(want) != 1 {
		t.Fatalf("original chain emitted %v", want)
	}

	c2 := freshChain(t, j)
	if err := c2.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again, err := c2.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(snap) {
		t.Errorf("snapshot of the restored chain differs from the one restored")
	}
	if got := results(advance(t, c2, t0.Add(time.Hour)).Events()); !reflect.DeepEqual(got, want) {
		t.Errorf("restored chain emitted %v, want %v", got, want)
	}

	// An empty chain state round-trips too.
	c3 := freshChain(t, j)
	empty, err := c3.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := freshChain(t, j).Restore(empty); err != nil {
		t.Errorf("Restore(empty state): %v", err)
	}
}

func TestChainRestoreCorrupt(t *testing.T) {
	j, c := newTestChain(t)
	processBatch(t, c, chainPlays(j))
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	n, k := binary.Uvarint(snap[2:])
	if snap[0] != 1 || snap[1] != 0 || k <= 0 || int(n) != len(snap)-2-k {
		t.Fatalf("snapshot starts % x (%d bytes): want version 1, an empty filter stage, then the window's state", snap[:3], len(snap))
	}
	win := snap[2+k:]
	cut := binary.AppendUvarint([]byte{1, 0}, uint64(len(win)-1))
	cut = append(cut, win[:len(win)-1]...)
	overflow := append([]byte{1}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}...)
	for _, tc := range []struct {
		name string
		data []byte
		want string // the error, or its prefix when it ends in "..."
	}{
		{"nil", nil, "chain: unknown snapshot version"},
		{"other version", append([]byte{2}, snap[1:]...), "chain: unknown snapshot version"},
		{"no stages", []byte{1}, "chain stage 0: truncated snapshot"},
		{"one stage of two", []byte{1, 0}, "chain stage 1: truncated snapshot"},
		{"length beyond the data", []byte{1, 0, 5, 'x'}, "chain stage 1: truncated snapshot"},
		{"length overflow", overflow, "chain stage 0: truncated snapshot"},
		{"state for the stateless filter", append([]byte{1, 1, 'x'}, snap[2:]...), "chain stage 0: snapshot for a stateless stage"},
		{"trailing bytes", append(append([]byte(nil), snap...), 0), "chain: trailing bytes in snapshot"},
		{"window state garbage", []byte{1, 0, 3, 'a', 'b', 'c'}, "chain stage 1: ..."},
		{"window state cut short", cut, "chain stage 1: ..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := freshChain(t, j).Restore(tc.data)
			switch {
			case err == nil:
				t.Fatalf("Restore(% x) = nil, want %q", tc.data, tc.want)
			case strings.HasSuffix(tc.want, "..."):
				// The window's own error, wrapped.
				if !strings.HasPrefix(err.Error(), strings.TrimSuffix(tc.want, "...")) || errors.Unwrap(err) == nil {
					t.Errorf("Restore: %v, want %s (the stage's error, wrapped)", err, tc.want)
				}
			case err.Error() != tc.want:
				t.Errorf("Restore: %v, want %s", err, tc.want)
			}
		})
	}
}

// failing is a stage whose Start, Process, Advance or Snapshot fails.
type failing struct{ start, process, advance, snapshot error }

var errStage = errors.New("stage failed")

func (f *failing) Start(context.Context, stream.Env) error { return f.start }
func (f *failing) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	out.EmitAll(in)
	return f.process
}
func (f *failing) Advance(context.Context, int64, *stream.Emitter) error { return f.advance }
func (f *failing) Snapshot() ([]byte, error)                             { return nil, f.snapshot }
func (f *failing) Restore([]byte) error                                  { return nil }

func TestChainStageErrors(t *testing.T) {
	j := mustParse(t, withBase(chainJob))
	ok := stream.Map(func(*stream.Event) bool { return true })
	ctx := context.Background()
	in := []stream.Event{play(j, 1, "ann", 7, t0, 2)}

	c := newChain(ok, &failing{start: errStage})
	if err := c.(stream.Starter).Start(ctx, stream.Env{}); !errors.Is(err, errStage) || err.Error() != "chain stage 1: stage failed" {
		t.Errorf("Start: %v", err)
	}
	c = newChain(ok, &failing{process: errStage})
	if err := c.Process(ctx, in, &stream.Emitter{}); !errors.Is(err, errStage) {
		t.Errorf("Process: %v", err)
	}
	c = newChain(&failing{advance: errStage}, ok)
	if err := c.Advance(ctx, 0, &stream.Emitter{}); !errors.Is(err, errStage) {
		t.Errorf("Advance: %v", err)
	}
	c = newChain(ok, &failing{snapshot: errStage})
	if _, err := c.(stream.Snapshotter).Snapshot(); !errors.Is(err, errStage) || err.Error() != "chain stage 1: stage failed" {
		t.Errorf("Snapshot: %v", err)
	}

	// The window refuses, at start, a key field the input lacks.
	w, _ := j.Window("w")
	op, _, err := j.window(w)
	if err != nil {
		t.Fatal(err)
	}
	other := stream.MustSchema("other", stream.Field{Name: "id", Kind: stream.KindInt})
	err = newChain(ok, op).(stream.Starter).Start(ctx, stream.Env{Schema: other, Schemas: []*stream.Schema{other}})
	if err == nil || !strings.HasPrefix(err.Error(), "chain stage 1: ") {
		t.Errorf("Start over a schema without the key field: %v", err)
	}
}

// shedProbe records Shed and Release.
type shedProbe struct {
	stream.Operator
	shed     float64
	released bool
}

func (p *shedProbe) Shed(f float64) { p.shed = f }
func (p *shedProbe) Release()       { p.released = true }

// A window behind its where: (a chain) is reached by the memory budget's
// Shed and by a revoked partition's Release.
func TestChainForwardsShedAndRelease(t *testing.T) {
	a := &shedProbe{Operator: stream.Map(func(*stream.Event) bool { return true })}
	b := &shedProbe{Operator: stream.Map(func(*stream.Event) bool { return true })}
	c := newChain(a, b)
	c.(stream.Shedder).Shed(0.5)
	c.(stream.Releaser).Release()
	if a.shed != 0.5 || b.shed != 0.5 || !a.released || !b.released {
		t.Fatalf("a %+v, b %+v", a, b)
	}
}

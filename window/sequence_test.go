package window_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// seqSchema: the events of the sequence tests. kind is what the steps test.
var seqSchema = stream.MustSchema("seq",
	stream.Field{Name: "event_id", Kind: stream.KindInt},
	stream.Field{Name: "user", Kind: stream.KindInt},
	stream.Field{Name: "dev", Kind: stream.KindInt},
	stream.Field{Name: "name", Kind: stream.KindString},
	stream.Field{Name: "kind", Kind: stream.KindInt},
)

// sev is one random input event of the sequence tests; deliveries of one
// sev share its id, time and fields.
type sev struct {
	id, user, dev, kind, t int64
	name                   string
}

func (e sev) event(offset int64) stream.Event {
	return stream.Event{
		Key: fmt.Sprint(e.user), Time: e.t, Schema: seqSchema,
		Pos: stream.Position{Source: "t", Partition: 0, Offset: offset},
		Fields: []stream.Value{stream.Int(e.id), stream.Int(e.user), stream.Int(e.dev),
			stream.String(e.name), stream.Int(e.kind)},
	}
}

// randomSevs returns n distinct events on few keys, few kinds and a coarse
// clock, so that ties, exact Within spans and competing candidates are
// frequent.
func randomSevs(r *rand.Rand, n int, span time.Duration) []sev {
	es := make([]sev, n)
	for i := range es {
		es[i] = sev{id: int64(i), user: r.Int64N(3), dev: r.Int64N(2), kind: r.Int64N(4),
			name: fmt.Sprintf("u%d", r.IntN(3)), t: base + r.Int64N(int64(span)/int64(time.Minute))*int64(time.Minute)}
	}
	return es
}

// sevArrival delivers the events (some twice) each delayed by up to
// maxDelay of event time, in order of arrival.
func sevArrival(r *rand.Rand, es []sev, dupShare float64, maxDelay time.Duration) []stream.Event {
	type del struct {
		at int64
		ev stream.Event
	}
	var ds []del
	off := int64(0)
	deliver := func(e sev) {
		off++
		ds = append(ds, del{e.t + r.Int64N(int64(maxDelay)+1), e.event(off)})
	}
	for _, e := range es {
		deliver(e)
		if r.Float64() < dupShare {
			deliver(e)
		}
	}
	r.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	slices.SortStableFunc(ds, func(a, b del) int { return cmp.Compare(a.at, b.at) })
	evs := make([]stream.Event, len(ds))
	for i := range ds {
		evs[i] = ds[i].ev
	}
	return evs
}

// seqCase is a random sequence: its key, its steps as sets of kinds (an
// erring step fails on kind 3) and Within.
type seqCase struct {
	keyBy   []string
	masks   []int // kinds each step accepts, as bits
	errs    []bool
	within  time.Duration
	noDedup bool // no Dedup field: ties go by the events' Key, then position
}

// order is the decision order of two events: time, then the dedup value
// (the id), or without dedup the event's Key (the user's text), then its
// position (in the order of ids when nothing is delivered twice).
func (c seqCase) order(a, b sev) int {
	if c.noDedup {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(fmt.Sprint(a.user), fmt.Sprint(b.user)), cmp.Compare(a.id, b.id))
	}
	return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id))
}

var seqKeys = [][]string{{"user"}, {"user", "dev"}, {"name"}, {"user", "name"}}

func randomSeqCase(r *rand.Rand) seqCase {
	c := seqCase{keyBy: seqKeys[r.IntN(len(seqKeys))], within: time.Duration(1+r.IntN(30)) * time.Minute}
	for range 2 + r.IntN(3) {
		c.masks = append(c.masks, 1+r.IntN(15))
		c.errs = append(c.errs, r.IntN(5) == 0)
	}
	return c
}

// matches is the reference's reading of a step: kind in the mask, and an
// erring step's failure on kind 3 is no match.
func (c seqCase) matches(step int, e sev) bool {
	if c.errs[step] && e.kind == 3 {
		return false
	}
	return c.masks[step]&(1<<e.kind) != 0
}

var errKind3 = errors.New("kind 3")

func (c seqCase) config() window.SequenceConfig {
	cfg := window.SequenceConfig{PatternConfig: window.PatternConfig{Name: "seq", KeyBy: c.keyBy,
		Within: c.within, Dedup: "event_id"}}
	if c.noDedup {
		cfg.Dedup = ""
	}
	for i := range c.masks {
		mask, errs := c.masks[i], c.errs[i]
		cfg.Steps = append(cfg.Steps, func(ev *stream.Event) (bool, error) {
			k := ev.Fields[4].Int()
			if errs && k == 3 {
				return false, errKind3
			}
			return mask&(1<<k) != 0, nil
		})
	}
	return cfg
}

func (c seqCase) key(e sev) string {
	var parts []string
	for _, k := range c.keyBy {
		switch k {
		case "user":
			parts = append(parts, fmt.Sprint(e.user))
		case "dev":
			parts = append(parts, fmt.Sprint(e.dev))
		case "name":
			parts = append(parts, e.name)
		}
	}
	return strings.Join(parts, "|")
}

// reference computes the sequence's matches from SequenceConfig's
// definition, plainly: per key, the events in decision order; from pos,
// the earliest event matching step 0 whose greedy completion (each next
// step the earliest later event matching it) ends within Within of it is a
// match; the next search starts after its last event. The matches come out
// in decision order of their last events.
func (c seqCase) reference(es []sev) []string {
	by := map[string][]sev{}
	for _, e := range es {
		by[c.key(e)] = append(by[c.key(e)], e)
	}
	type match struct {
		last sev
		line string
	}
	var ms []match
	for key, l := range by {
		slices.SortFunc(l, c.order)
		pos := 0
	search:
		for {
			for i := pos; i < len(l); i++ {
				if !c.matches(0, l[i]) {
					continue
				}
				got, j := []sev{l[i]}, i
				for step := 1; step < len(c.masks); step++ {
					j++
					for j < len(l) && !c.matches(step, l[j]) {
						j++
					}
					if j == len(l) {
						break
					}
					got = append(got, l[j])
				}
				if len(got) < len(c.masks) || l[j].t-l[i].t > int64(c.within) {
					continue
				}
				ms = append(ms, match{l[j], seqLine(key, l[i].t, l[j].t, len(got), l[j].id, got)})
				pos = j + 1
				continue search
			}
			break
		}
	}
	slices.SortFunc(ms, func(a, b match) int { return c.order(a.last, b.last) })
	var ls []string
	for _, m := range ms {
		ls = append(ls, m.line)
	}
	return ls
}

func seqLine(key string, first, last int64, n int, by int64, steps []sev) string {
	s := fmt.Sprintf("%s %d..%d n=%d by=%d steps", key, (first-base)/int64(time.Minute), (last-base)/int64(time.Minute), n, by)
	for _, st := range steps {
		s += fmt.Sprintf(" %d@%d", st.id, (st.t-base)/int64(time.Minute))
	}
	return s
}

// seqLines renders the operator's results as the reference does, after
// checking the fields every result carries.
func seqLines(t *testing.T, res []stream.Event) []string {
	t.Helper()
	var ls []string
	for _, ev := range res {
		w := ev.Window
		if w == nil || w.Name != "seq" || w.Kind != window.KindSequence || w.Start != w.First || w.End != w.Last ||
			int(w.Count) != len(w.Steps) || w.Steps[0].Time != w.First || w.Steps[len(w.Steps)-1].Time != ev.Time ||
			ev.Schema != seqSchema || ev.Get("event_id") != w.Steps[len(w.Steps)-1].Fields[0] {
			t.Fatalf("malformed result %+v window %+v", ev, w)
		}
		var steps []sev
		for _, st := range w.Steps {
			steps = append(steps, sev{id: st.Fields[0].Int(), t: st.Time})
		}
		ls = append(ls, seqLine(w.Key, w.First, w.Last, int(w.Count), ev.Get("event_id").Int(), steps))
	}
	return ls
}

// TestSequenceDifferential runs random sequences on random events
// delivered out of order (within the bound or the allowed lateness) with
// duplicates, for many seeds, and compares every result (key, times, the
// matched events) with the reference; one arrival per seed restarts the
// operator from a snapshot midway, one has no dedup.
func TestSequenceDifferential(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 80
	}
	total, dups, errs, lists := 0, int64(0), int64(0), 0
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 16))
		c := randomSeqCase(r)
		es := randomSevs(r, 20+r.IntN(100), 3*time.Hour)
		want := c.reference(es)
		nd := c
		nd.noDedup = true
		wantND := nd.reference(es)
		total += len(want)
		for try := range 4 {
			cfg, want := c.config(), want
			drv, dupShare := bound, 0.3
			switch try {
			case 1: // most of the disorder within the allowed lateness
				cfg.AllowedLateness, drv = bound, bound/4
			case 3: // no dedup and no duplicates
				cfg, want, dupShare = nd.config(), wantND, 0
			}
			fresh := func() snapOp { return startSeq(t, cfg) }
			evs := sevArrival(r, es, dupShare, bound)
			if try == 2 {
				rs := &restoring{snapOp: fresh(), t: t, fresh: fresh, cut: 1 + r.IntN(30)}
				res, _ := drive(t, r, rs, evs, drv)
				if st := rs.snapOp.(*window.Sequence).Stats(); st.Late != 0 || st.ActiveKeys != 0 || st.Pending != 0 {
					t.Fatalf("seed %d: stats after a restore %+v", seed, st)
				}
				diff(t, fmt.Sprintf("seed %d restored after call %d, case %+v", seed, rs.cut, c), seqLines(t, res), want)
				continue
			}
			res, st := drive(t, r, fresh(), evs, drv)
			if st.Late != 0 {
				t.Fatalf("seed %d: %d events late within the out-of-orderness", seed, st.Late)
			}
			if st.Evictions != 0 || st.Emitted != int64(len(res)) {
				t.Fatalf("seed %d: stats %+v, %d results", seed, st, len(res))
			}
			dups += st.Duplicates
			errs += st.Errors
			diff(t, fmt.Sprintf("seed %d try %d case %+v", seed, try, c), seqLines(t, res), want)
		}
		lists += candidatesAtOnce(c, es)
	}
	if dups == 0 || errs == 0 || total < seeds || lists == 0 {
		t.Fatalf("the inputs prove little: %d duplicates, %d predicate errors, %d matches, %d keys with several candidates",
			dups, errs, total, lists)
	}
}

// candidatesAtOnce counts keys that at some point held two candidates or
// more (an approximation: two step-0 events within Within), so that the
// test knows it exercised the lists.
func candidatesAtOnce(c seqCase, es []sev) int {
	n := 0
	for i, a := range es {
		for _, b := range es[i+1:] {
			if c.key(a) == c.key(b) && c.matches(0, a) && c.matches(0, b) && a.t-b.t <= int64(c.within) && b.t-a.t <= int64(c.within) {
				n++
			}
		}
	}
	return n
}

// startSeq returns a started Sequence that knows seqSchema, so that the
// events it restores share it.
func startSeq(t testing.TB, cfg window.SequenceConfig) *window.Sequence {
	op := must(window.NewSequence(cfg))
	if err := op.Start(context.Background(), stream.Env{Schema: seqSchema, Schemas: []*stream.Schema{seqSchema}}); err != nil {
		t.Fatal(err)
	}
	return op
}

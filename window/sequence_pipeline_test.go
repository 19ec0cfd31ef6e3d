package window_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// restartingSeq is a Sequence that, every few calls, is replaced by a fresh
// one started with the same Env and restored from its snapshot, as a
// restart from a checkpoint would.
type restartingSeq struct {
	*window.Sequence
	t        *testing.T
	cfg      window.SequenceConfig
	env      stream.Env
	calls    int
	every    int
	restarts int
}

func (r *restartingSeq) Start(ctx context.Context, env stream.Env) error {
	r.env = env
	return r.Sequence.Start(ctx, env)
}

func (r *restartingSeq) restart() {
	if r.calls++; r.calls%r.every != 0 {
		return
	}
	data, err := r.Sequence.Snapshot()
	if err != nil {
		r.t.Error(err)
		return
	}
	n := must(window.NewSequence(r.cfg))
	if err := n.Start(context.Background(), r.env); err != nil {
		r.t.Error(err)
	}
	if err := n.Restore(data); err != nil {
		r.t.Errorf("restore: %v", err)
	}
	r.Sequence = n
	r.restarts++
}

func (r *restartingSeq) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	defer r.restart()
	return r.Sequence.Process(ctx, in, out)
}

func (r *restartingSeq) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	defer r.restart()
	return r.Sequence.Advance(ctx, wm, out)
}

// TestSequencePipelineRestarts runs a sequence of three steps through a
// stream.Pipeline on many keys, with arrival up to two minutes out of
// order, duplicates, and the operator restored from its snapshot every 5
// calls; the results equal the reference's.
func TestSequencePipelineRestarts(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	es := make([]sev, 6000)
	for i := range es {
		es[i] = sev{id: int64(i), user: r.Int64N(40), dev: r.Int64N(3), kind: r.Int64N(4), name: "n",
			t: base + r.Int64N(6*60)*int64(time.Minute)}
	}
	c := seqCase{keyBy: []string{"user", "dev"}, masks: []int{1, 2 | 4, 8}, errs: []bool{false, false, false}, within: 20 * time.Minute}
	want := c.reference(es)
	op := &restartingSeq{Sequence: must(window.NewSequence(c.config())), t: t, cfg: c.config(), every: 5}
	sink := stream.NewCollectSink()
	p := stream.New("seq", stream.Config{OutOfOrderness: 2 * time.Minute, Schemas: []*stream.Schema{seqSchema}}).
		From(stream.NewSliceSource("events", sevArrival(r, es, 0.1, 2*time.Minute), 97)).Via(op).To(sink)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if op.restarts < 10 || len(want) < 50 {
		t.Fatalf("%d restarts, %d matches: the test proves little", op.restarts, len(want))
	}
	diff(t, fmt.Sprintf("pipeline, %d restarts", op.restarts), seqLines(t, sink.Events()), want)
	t.Logf("%d matches, %d restarts", len(want), op.restarts)
	if st := op.Stats(); st.Late != 0 || st.ActiveKeys != 0 || st.Pending != 0 {
		t.Fatalf("stats of the last instance: %+v", st)
	}
}

package stream

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// passOrdered passes events on as it takes them, and says so.
type passOrdered struct{}

func (passOrdered) Process(_ context.Context, in []Event, out *Emitter) error {
	for _, ev := range in {
		out.Emit(ev)
	}
	return nil
}
func (passOrdered) Advance(context.Context, int64, *Emitter) error { return nil }
func (passOrdered) EmitsInArrivalOrder() bool                      { return true }

// The single task of a checkpointed file stamps its outputs with an Origin
// and, when its operators emit in arrival order, numbers its inputs by
// line (Event.Seq): a restart numbers on exactly where the checkpoint
// stood, blank lines and all, so that a replay numbers what it reads again
// as the crashed run did; a file replaced while the job was down is
// numbered past anything read before. Operators that do not say they emit
// in arrival order get no numbers.
func TestCheckpointedFileNumbersItsInputs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(path, []byte(playLines(1, 3, resumeT0)+"\n"), 0o644))
	store := NewMemoryCheckpoints()
	run := func(ops ...Operator) []Event {
		t.Helper()
		src := NewFileSource(path, testPlayDecoder(), FileConfig{BatchSize: 2})
		sink := NewCollectSink()
		p := New("seq", Config{Checkpoints: store, Clock: NewManualClock(resumeT0), OutOfOrderness: time.Minute})
		p.From(src).Via(ops...).To(sink)
		require.NoError(t, p.Run(context.Background()))
		return sink.Events()
	}
	seqs := func(evs []Event) (out []int64) {
		for _, ev := range evs {
			require.NotNil(t, ev.Origin, "line %d", ev.Pos.Offset)
			out = append(out, ev.Seq)
		}
		return out
	}
	require.Equal(t, []int64{1, 2, 3}, seqs(run(passOrdered{})))

	appendTo(t, path, playLines(4, 2, resumeT0.Add(time.Minute)))
	evs := run(passOrdered{})
	_, lines := offsetsOf(evs)
	require.Equal(t, []int64{5, 6}, lines, "line 4 is blank")
	require.Equal(t, []int64{5, 6}, seqs(evs), "numbered on from the checkpoint")
	cp, err := store.Load(context.Background(), "seq/"+path+"/-1")
	require.NoError(t, err)
	require.Equal(t, int64(7), cp.Offset)

	tmp := filepath.Join(dir, "new.csv")
	require.NoError(t, os.WriteFile(tmp, []byte(playLines(10, 2, resumeT0.Add(2*time.Minute))), 0o644))
	require.NoError(t, os.Rename(tmp, path))
	evs = run(passOrdered{})
	require.Len(t, evs, 2)
	_, lines = offsetsOf(evs)
	require.Equal(t, []int64{7 + 2*restartGap + lines[0], 7 + 2*restartGap + lines[1]}, seqs(evs), "a replaced file: past the gap")

	appendTo(t, path, playLines(12, 1, resumeT0.Add(3*time.Minute)))
	evs = run(OperatorFunc(func(_ context.Context, in []Event, out *Emitter) error {
		for _, ev := range in {
			out.Emit(ev)
		}
		return nil
	}))
	require.Len(t, evs, 1)
	require.Equal(t, []int64{0}, seqs(evs), "an operator that does not say it emits in arrival order")
}

// The tasks of a checkpointed partitioned pipeline number their inputs by
// offset (Event.Seq = offset + 1) when their operators emit in arrival
// order, and not when one of them does not say so; with lanes, the lanes'
// outputs are merged back into input order.
func TestPartitionTasksNumberTheirInputs(t *testing.T) {
	for _, c := range []struct {
		name  string
		ops   func() []Operator
		lanes int
		seq   bool
	}{
		{"arrival order", func() []Operator { return []Operator{passOrdered{}, passOrdered{}} }, 1, true},
		{"an operator that does not say", func() []Operator { return []Operator{passOrdered{}, &counter{}} }, 1, false},
		{"lanes", func() []Operator { return []Operator{passOrdered{}} }, 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			acks := &ackLog{acked: map[[2]int64]bool{}}
			src := NewChanSource("topic")
			out := NewCollectSink()
			p := New("seq", Config{Checkpoints: NewMemoryCheckpoints(), Clock: NewManualClock(time.Unix(0, 0)),
				OutOfOrderness: time.Minute, Parallelism: c.lanes})
			p.From(src).ViaPartitioned(func(PartitionID) ([]Operator, error) { return c.ops(), nil }).To(out)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			b := partBatch(0, 5, 10, acks)
			for i := range b.Events {
				b.Events[i].Key = string(rune('a' + i)) // spread over the lanes
			}
			src.C <- b
			src.C <- partBatch(1, 0, 3, acks)
			require.NoError(t, out.WaitFor(context.Background(), 8))
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			last := map[int32]int64{}
			for _, ev := range out.Events() {
				require.NotNil(t, ev.Origin)
				require.Greater(t, ev.Pos.Offset+1, last[ev.Pos.Partition], "in input order")
				last[ev.Pos.Partition] = ev.Pos.Offset + 1
				if c.seq {
					require.Equal(t, ev.Pos.Offset+1, ev.Seq, "partition %d offset %d", ev.Pos.Partition, ev.Pos.Offset)
				} else {
					require.Zero(t, ev.Seq)
				}
			}
		})
	}
}

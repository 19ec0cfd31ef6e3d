package stream

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With SetIdleAdvance, a quiet input's watermark moves with processing
// time: once no partition had an event for the bound, it is the newest
// event time plus the processing time since the latest event arrived; an
// event then resumes the ordinary watermark, which never goes back.
func TestWatermarkTrackerIdleAdvance(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := int64(time.Second)
	w := NewWatermarkTracker(5*time.Minute, 30*time.Second)
	w.SetIdleAdvance(2 * time.Second)
	require.Equal(t, MinWatermark, w.Update(t0), "nothing seen: nothing to advance from")
	w.Observe(PartitionID{0, 0}, 100*sec, t0)
	w.Observe(PartitionID{1, 0}, 90*sec, t0.Add(500*time.Millisecond))
	bounded := 100*sec - int64(5*time.Minute) // set by partition 0 alone, before 1 came
	require.Equal(t, bounded, w.Update(t0.Add(time.Second)))
	require.Equal(t, bounded, w.Update(t0.Add(2*time.Second)), "partition 1 was quiet for 1.5s only")
	require.Equal(t, 100*sec+int64(2*time.Second), w.Update(t0.Add(2500*time.Millisecond)),
		"both quiet for 2s: the newest event time plus the 2s since the last arrival")
	require.Equal(t, 100*sec+int64(10*time.Second), w.Update(t0.Add(10500*time.Millisecond)))
	require.Equal(t, int64(2), w.IdleAdvances())
	// An event resumes the bounded watermark; it never goes back.
	w.Observe(PartitionID{0, 0}, 112*sec, t0.Add(11*time.Second))
	require.Equal(t, 100*sec+int64(10*time.Second), w.Update(t0.Add(11*time.Second)))
	// A finished partition does not keep the input quiet or busy.
	w.Finish(0)
	require.Equal(t, 112*sec+int64(3*time.Second), w.Update(t0.Add(14*time.Second)))
}

// Without SetIdleAdvance (or with 0), a quiet input's watermark holds.
func TestWatermarkTrackerIdleAdvanceOff(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := NewWatermarkTracker(time.Minute, time.Second)
	w.SetIdleAdvance(0)
	w.Observe(PartitionID{0, 0}, int64(100*time.Second), t0)
	require.Equal(t, int64(40*time.Second), w.Update(t0.Add(time.Hour)))
	require.Zero(t, w.IdleAdvances())
}

func TestConfigIdleAdvanceNegative(t *testing.T) {
	require.ErrorContains(t, Config{IdleAdvance: -time.Second}.Validate(), "IdleAdvance must not be negative")
}

// In a pipeline with Config.IdleAdvance, a live input that goes quiet
// still moves the operators' watermark at each tick, with processing time,
// so that what waits for it is decided while nothing arrives; without it
// the watermark holds until the next event.
func TestPipelineIdleAdvance(t *testing.T) {
	s := int64(time.Second)
	for _, c := range []struct {
		name    string
		advance time.Duration
		want    []int64
	}{
		{"on", 3 * time.Second, []int64{100*s - int64(time.Minute), 100*s + 3*s, 100*s + 4*s}},
		{"off", 0, []int64{100*s - int64(time.Minute)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(time.Unix(1000, 0))
			src := NewChanSource("live")
			rec := &recorder{wmCh: make(chan int64, 16), procCh: make(chan int, 16)}
			p := New("idle", Config{OutOfOrderness: time.Minute, IdleAdvance: c.advance, TickInterval: time.Second, Clock: clock, MaxAhead: -1})
			p.From(src).Via(rec).To(Discard)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			src.C <- Batch{Events: []Event{{Time: 100 * s, Pos: Position{Source: "live"}}}}
			<-rec.procCh
			var got []int64
			next := func() {
				select {
				case wm := <-rec.wmCh:
					got = append(got, wm)
				case <-ctx.Done():
					t.Fatalf("no watermark; have %v", got)
				}
			}
			next()
			// Each tick is a second of processing time without events; with
			// the advance, the third and fourth move the watermark.
			for i := range 4 {
				clock.Advance(time.Second)
				if c.advance > 0 && i >= 2 {
					next()
				}
			}
			close(src.C)
			for {
				next()
				if got[len(got)-1] == MaxWatermark {
					break
				}
			}
			require.NoError(t, <-done)
			require.Equal(t, append(c.want, MaxWatermark), got)
		})
	}
}

// A live run (IdleAdvance) stopped before the end of its input, with
// nothing checkpointed, decides as it stops what is due on the wall clock
// if its input has been quiet for IdleAdvance: its last watermark is the
// newest event time plus the processing time since the latest event. A
// stop amid traffic decides nothing early (events in transit within the
// lateness may still come; a restart reads the input again).
func TestPipelineStopDecidesWhatIsDue(t *testing.T) {
	s := int64(time.Second)
	for _, c := range []struct {
		name  string
		quiet time.Duration
		want  []int64
	}{
		{"quiet", 2 * time.Second, []int64{100*s - int64(time.Minute), 102 * s}},
		{"amid traffic", 500 * time.Millisecond, []int64{100*s - int64(time.Minute)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(time.Unix(1000, 0))
			src := NewChanSource("live")
			rec := &recorder{wmCh: make(chan int64, 16), procCh: make(chan int, 16)}
			p := New("stop", Config{OutOfOrderness: time.Minute, IdleAdvance: time.Second, TickInterval: time.Hour, Clock: clock, MaxAhead: -1})
			p.From(src).Via(rec).To(Discard)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- p.Run(runCtx) }()
			src.C <- Batch{Events: []Event{{Time: 100 * s, Pos: Position{Source: "live"}}}}
			<-rec.procCh
			require.Equal(t, 100*s-int64(time.Minute), <-rec.wmCh)
			clock.Advance(c.quiet)
			stop()
			require.ErrorIs(t, <-done, context.Canceled)
			require.Equal(t, c.want, rec.wms)
		})
	}
}

// Input read and not yet taken in keeps the input from being quiet: a
// tick during a processing stall does not advance the watermark past the
// events waiting, which are then on time.
func TestWatermarkTrackerInputWaiting(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := NewWatermarkTracker(time.Minute, 0)
	w.SetIdleAdvance(time.Second)
	w.Observe(PartitionID{0, 0}, int64(100*time.Second), t0)
	w.InputWaiting(true)
	require.Equal(t, int64(40*time.Second), w.Update(t0.Add(time.Hour)), "input waiting: no advance")
	w.InputWaiting(false)
	require.Equal(t, int64(100*time.Second+time.Hour), w.Update(t0.Add(time.Hour)))
}

// A checkpoint keeps the watermark an idle advance put ahead of the
// partition's clock minus the bound (version 2), and still reads version 1.
func TestCheckpointKeepsWatermark(t *testing.T) {
	cp := &Checkpoint{Offset: 7, MaxTime: 100, State: []byte{1}, SavedAt: time.Unix(5, 0), Watermark: 160}
	b, err := cp.MarshalBinary()
	require.NoError(t, err)
	var got Checkpoint
	require.NoError(t, got.UnmarshalBinary(b))
	require.Equal(t, *cp, got)
	v1 := []byte{1, 14, 200, 1, 20, 1, 1} // offset 7, max 100, saved 10ns, state {1}
	require.NoError(t, got.UnmarshalBinary(v1))
	require.Equal(t, Checkpoint{Offset: 7, MaxTime: 100, SavedAt: time.Unix(0, 10), State: []byte{1}, Watermark: MinWatermark}, got)
	w := NewWatermarkTracker(time.Minute, 0)
	w.SetPartitionMax(PartitionID{0, 0}, 100, time.Unix(0, 0))
	w.RaiseTo(160)
	require.Equal(t, int64(160), w.Watermark())
	w.RaiseTo(120)
	require.Equal(t, int64(160), w.Watermark(), "never back")
}

// A Parallel snapshot whose branch held state is refused by a Parallel
// whose branch keeps none (a job whose order: changed): restoring would
// silently lose what that branch held.
func TestParallelRestoreRefusesStateItCannotTake(t *testing.T) {
	a := Parallel(Map(func(*Event) bool { return true }), &snapOp{state: []byte("pending")})
	data, err := a.(Snapshotter).Snapshot()
	require.NoError(t, err)
	b := Parallel(Map(func(*Event) bool { return true }), Map(func(*Event) bool { return true }))
	err = b.(Snapshotter).Restore(data)
	require.ErrorContains(t, err, "parallel branch 1: the checkpoint holds 7 bytes of state for a branch that keeps none")
	c := Parallel(Map(func(*Event) bool { return true }), &snapOp{})
	require.NoError(t, c.(Snapshotter).Restore(data))
	require.Equal(t, "pending", string(c.(*parallel).branches[1].(*snapOp).state))
}

type snapOp struct{ state []byte }

func (s *snapOp) Process(context.Context, []Event, *Emitter) error { return nil }
func (s *snapOp) Advance(context.Context, int64, *Emitter) error   { return nil }
func (s *snapOp) Snapshot() ([]byte, error)                        { return s.state, nil }
func (s *snapOp) Restore(b []byte) error                           { s.state = append([]byte(nil), b...); return nil }

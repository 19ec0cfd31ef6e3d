package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// keyCounter counts events per key and emits the counts at the end of
// input (MaxWatermark); its state snapshots as JSON.
type keyCounter struct{ n map[string]int64 }

func (c *keyCounter) Process(_ context.Context, in []Event, _ *Emitter) error {
	for _, ev := range in {
		c.n[ev.Key]++
	}
	return nil
}

func (c *keyCounter) Advance(_ context.Context, wm int64, out *Emitter) error {
	if wm != MaxWatermark {
		return nil
	}
	for k, n := range c.n {
		out.Emit(Event{Key: k, Fields: []Value{Int(n)}})
	}
	return nil
}
func (c *keyCounter) Snapshot() ([]byte, error) { return json.Marshal(c.n) }
func (c *keyCounter) Restore(b []byte) error {
	if len(b) == 0 {
		return errors.New("empty")
	}
	return json.Unmarshal(b, &c.n)
}

func keyedEvents(n int) []Event {
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Key: fmt.Sprint("k", r.IntN(50)), Time: int64(i) * int64(time.Second), Pos: Position{Source: "s", Partition: 0, Offset: int64(i)}}
	}
	return evs
}

func countsOf(evs []Event) map[string]int64 {
	m := map[string]int64{}
	for _, ev := range evs {
		m[ev.Key] = ev.Fields[0].Int()
	}
	return m
}

func TestLanesGiveTheSameResults(t *testing.T) {
	evs := keyedEvents(5000)
	var want map[string]int64
	for _, par := range []int{1, 2, 3, 7} {
		out := NewCollectSink()
		p := New("lanes", Config{Parallelism: par})
		p.From(NewSliceSource("s", evs, 100)).ViaPartitioned(func(PartitionID) ([]Operator, error) {
			return []Operator{&keyCounter{n: map[string]int64{}}}, nil
		}).To(out)
		runPipeline(t, p)
		got := countsOf(out.Events())
		if want == nil {
			want = got
			require.Len(t, want, 50)
		}
		require.Equal(t, want, got, "parallelism %d", par)
	}
}

func TestLanesCheckpointRestore(t *testing.T) {
	store := NewMemoryCheckpoints()
	evs := keyedEvents(3000)
	factory := func(PartitionID) ([]Operator, error) { return []Operator{&keyCounter{n: map[string]int64{}}}, nil }
	// First run: the first 2000 events, then a shutdown checkpoint.
	src := &connSource{ChanSource: NewChanSource("s"), connected: make(chan struct{})}
	p := New("lanes", Config{Parallelism: 3, Checkpoints: store, OutOfOrderness: time.Hour})
	p.From(src).ViaPartitioned(factory).To(Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	acked := make(chan error, 100)
	for i := 0; i < 2000; i += 100 {
		src.C <- Batch{Events: append([]Event(nil), evs[i:i+100]...), Ack: func(_ context.Context, err error) error { acked <- err; return nil }}
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Len(t, acked, 20)
	ok := 0
	for len(acked) > 0 {
		if <-acked == nil {
			ok++
		}
	}
	cp, err := store.Load(context.Background(), "lanes/s/0")
	require.NoError(t, err)
	require.Equal(t, int64(ok*100), cp.Offset, "the checkpoint covers exactly the acked batches")

	// Second run restores the lanes and reads the rest.
	src2 := &connSource{ChanSource: NewChanSource("s"), connected: make(chan struct{})}
	out := NewCollectSink()
	p2 := New("lanes", Config{Parallelism: 3, Checkpoints: store, OutOfOrderness: time.Hour})
	p2.From(src2).ViaPartitioned(factory).To(out)
	go func() { done <- p2.Run(context.Background()) }()
	<-src2.connected
	off, found, err := p2.AssignPartition(context.Background(), src2, 0)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, cp.Offset, off)
	for i := int(off); i < 3000; i += 100 {
		src2.C <- Batch{Events: append([]Event(nil), evs[i:i+100]...)}
	}
	close(src2.C)
	require.NoError(t, <-done)
	want := map[string]int64{}
	for _, ev := range evs {
		want[ev.Key]++
	}
	require.Equal(t, want, countsOf(out.Events()))

	// A pipeline with another Parallelism refuses the checkpoint.
	src3 := &connSource{ChanSource: NewChanSource("s"), connected: make(chan struct{})}
	p3 := New("lanes", Config{Parallelism: 2, Checkpoints: store, OutOfOrderness: time.Hour})
	p3.From(src3).ViaPartitioned(factory).To(Discard)
	go func() { done <- p3.Run(context.Background()) }()
	<-src3.connected
	_, _, err = p3.AssignPartition(context.Background(), src3, 0)
	require.NoError(t, err)
	src3.C <- Batch{Events: append([]Event(nil), evs[:10]...)}
	require.ErrorContains(t, <-done, "snapshot of 3 lanes, the pipeline has 2 (Parallelism changed?)")
}

// TestRestoredPartitionWithoutNewEventsFiresAtEnd: a partition restored
// from its checkpoint that gets no new event still fires what its state
// holds when the input ends.
func TestRestoredPartitionWithoutNewEventsFiresAtEnd(t *testing.T) {
	store := NewMemoryCheckpoints()
	evs := keyedEvents(500)
	factory := func(PartitionID) ([]Operator, error) { return []Operator{&keyCounter{n: map[string]int64{}}}, nil }
	src := NewChanSource("s")
	p := New("restore", Config{Checkpoints: store, OutOfOrderness: time.Hour})
	p.From(src).ViaPartitioned(factory).To(Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	acked := make(chan error, 1)
	src.C <- Batch{Events: append([]Event(nil), evs...), Ack: func(_ context.Context, err error) error { acked <- err; return nil }}
	require.NoError(t, <-acked) // settled at the shutdown checkpoint
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	src2 := &connSource{ChanSource: NewChanSource("s"), connected: make(chan struct{})}
	out := NewCollectSink()
	p2 := New("restore", Config{Checkpoints: store, OutOfOrderness: time.Hour})
	p2.From(src2).ViaPartitioned(factory).To(out)
	go func() { done <- p2.Run(context.Background()) }()
	<-src2.connected
	_, ok, err := p2.AssignPartition(context.Background(), src2, 0)
	require.NoError(t, err)
	require.True(t, ok)
	close(src2.C) // no new event: the input ends
	require.NoError(t, <-done)
	want := map[string]int64{}
	for _, ev := range evs {
		want[ev.Key]++
	}
	require.Equal(t, want, countsOf(out.Events()))
}

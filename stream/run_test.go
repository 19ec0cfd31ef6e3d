package stream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	p := New("empty", Config{OutOfOrderness: -1})
	p.Via(nil)
	err := p.Validate()
	require.ErrorContains(t, err, "no source: call From")
	require.ErrorContains(t, err, "OutOfOrderness must not be negative")
	require.ErrorContains(t, err, "Via: nil operator at stage 0")
	require.Error(t, p.Run(context.Background()))
}

func TestRunTwice(t *testing.T) {
	p := New("twice", Config{})
	p.From(NewSliceSource("s", nil, 1)).To(Discard)
	require.NoError(t, p.Run(context.Background()))
	require.ErrorIs(t, p.Run(context.Background()), ErrAlreadyRun)
}

func TestPanicInOperatorBecomesError(t *testing.T) {
	p := New("panic", Config{})
	p.From(NewSliceSource("s", timedEvents([]int64{1, 2, 3}), 1)).
		Via(Map(func(ev *Event) bool {
			if ev.Time == 2 {
				panic("boom")
			}
			return true
		})).To(Discard)
	err := p.Run(context.Background())
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "boom", pe.Value)
	require.Contains(t, err.Error(), "operator 0")
}

func TestPanicInSinkBecomesError(t *testing.T) {
	p := New("panic", Config{})
	p.From(NewSliceSource("s", timedEvents([]int64{1}), 1)).
		To(SinkFunc(func(context.Context, []Event) error { panic("sink boom") }))
	var pe *PanicError
	require.ErrorAs(t, p.Run(context.Background()), &pe)
}

type flushSink struct {
	mu       sync.Mutex
	buffered []Event
	written  []Event
	flushes  int
	closed   bool
}

func (s *flushSink) Write(_ context.Context, evs []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buffered = append(s.buffered, evs...)
	return nil
}

func (s *flushSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written = append(s.written, s.buffered...)
	s.buffered = nil
	s.flushes++
	return nil
}

func (s *flushSink) Close(context.Context) error { s.closed = true; return nil }

func TestCancelDrainsFlushesAndAcks(t *testing.T) {
	src := NewChanSource("acked")
	sink := &flushSink{}
	var acked, nacked atomic.Int64
	ackedCh := make(chan struct{}, 100)
	p := New("cancel", Config{})
	p.From(src).To(sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for i := 0; i < 10; i++ {
		src.C <- Batch{Events: timedEvents([]int64{int64(i)}), Ack: func(_ context.Context, err error) error {
			if err != nil {
				nacked.Add(1)
			} else {
				acked.Add(1)
			}
			ackedCh <- struct{}{}
			return nil
		}}
	}
	for i := 0; i < 10; i++ {
		<-ackedCh
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, int64(10), acked.Load())
	require.Equal(t, int64(0), nacked.Load())
	require.Len(t, sink.written, 10, "acked only after the sink flushed")
	require.True(t, sink.closed)
}

func TestSinkFailureNacksAndFails(t *testing.T) {
	src := NewChanSource("acked")
	var nacks atomic.Int64
	boom := errors.New("redis down")
	p := New("fail", Config{})
	p.From(src).To(SinkFunc(func(context.Context, []Event) error { return boom }))
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	src.C <- Batch{Events: timedEvents([]int64{1}), Ack: func(_ context.Context, err error) error {
		if err != nil {
			nacks.Add(1)
		}
		return nil
	}}
	err := <-done
	require.ErrorIs(t, err, boom)
	require.Equal(t, int64(1), nacks.Load())
}

func TestProcessingTimeMode(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	out := NewCollectSink()
	p := New("pt", Config{ProcessingTime: true, Clock: clock})
	p.From(NewSliceSource("s", timedEvents([]int64{5, 1, 3}), 10)).To(out)
	runPipeline(t, p)
	for _, ev := range out.Events() {
		require.Equal(t, clock.Now().UnixNano(), ev.Time)
	}
	require.Equal(t, 3, out.Len())
}

func TestParallelBranches(t *testing.T) {
	double := Map(func(ev *Event) bool { ev.Key = "a"; return true })
	odd := Filter(func(ev *Event) bool { ev.Key = "b"; return ev.Time%2 == 1 })
	out := NewCollectSink()
	p := New("par", Config{OutOfOrderness: time.Hour})
	p.From(NewSliceSource("s", timedEvents([]int64{1, 2, 3, 4}), 10)).Via(Parallel(double, odd)).To(out)
	runPipeline(t, p)
	var keys []string
	for _, ev := range out.Events() {
		keys = append(keys, ev.Key)
	}
	require.Equal(t, []string{"a", "a", "a", "a", "b", "b"}, keys, "branches see their own copies")
}

func TestEndOfInputFiresAtMaxWatermark(t *testing.T) {
	rec := &recorder{}
	p := New("eof", Config{OutOfOrderness: time.Hour})
	p.From(NewSliceSource("a", timedEvents([]int64{1}), 1)).From(NewSliceSource("b", timedEvents([]int64{2}), 1)).Via(rec).To(Discard)
	runPipeline(t, p)
	require.Equal(t, MaxWatermark, rec.wms[len(rec.wms)-1])
}

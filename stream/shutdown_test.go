package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// chanSource hands out the batches sent on its channel, one per Read, as a
// followed file does while it grows, and records how each was settled.
type chanSource struct {
	batches chan []stream.Event
	mu      sync.Mutex
	settled map[string]error // by the batch's first event ID
}

func newChanSource() *chanSource {
	return &chanSource{batches: make(chan []stream.Event), settled: map[string]error{}}
}

func (s *chanSource) Name() string { return "chan" }

func (s *chanSource) Read(ctx context.Context) (stream.Batch, error) {
	select {
	case evs := <-s.batches:
		return stream.Batch{Events: evs, Ack: func(_ context.Context, err error) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.settled[evs[0].ID] = err
			return nil
		}}, nil
	case <-ctx.Done():
		return stream.Batch{}, ctx.Err()
	}
}

func (s *chanSource) Close(context.Context) error { return nil }

// ack returns how the batch starting with id was settled, and whether it
// was.
func (s *chanSource) ack(id string) (error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err, ok := s.settled[id]
	return err, ok
}

// watchedSink is a Redis sink that says when a flush starts with events
// pending and when one succeeds.
type watchedSink struct {
	*targets.RedisSink
	flushing chan struct{}
	flushed  chan struct{}
}

func (w *watchedSink) Flush(ctx context.Context) error {
	if w.Pending() > 0 {
		select {
		case w.flushing <- struct{}{}:
		default:
		}
	}
	err := w.RedisSink.Flush(ctx)
	if err == nil {
		select {
		case w.flushed <- struct{}{}:
		default:
		}
	}
	return err
}

var shutdownSchema = stream.MustSchema("shutdown", stream.Field{Name: "n", Kind: stream.KindInt})

// events returns n events whose IDs are b<batch>-0 .. b<batch>-(n-1), a
// second apart, each batch after the one before.
func events(batch, n int) []stream.Event {
	evs := make([]stream.Event, n)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(batch) * time.Hour)
	for i := range evs {
		evs[i] = stream.Event{Key: fmt.Sprint(i), Time: t0.Add(time.Duration(i) * time.Second).UnixNano(), Schema: shutdownSchema,
			Fields: []stream.Value{stream.Int(int64(i))}, ID: fmt.Sprintf("b%d-%d", batch, i)}
	}
	return evs
}

func newQueueSink(t *testing.T, rdb *redis.Client) *targets.RedisSink {
	t.Helper()
	s, err := targets.NewRedis(rdb, targets.Config{Name: "q", Writes: []targets.Write{targets.XAdd("q")}})
	require.NoError(t, err)
	return s
}

// Cancelling a pipeline whose Redis is down: the drain and the close
// together take ShutdownTimeout, not one each; Run returns a
// *ShutdownError (not context.Canceled, which callers take for a clean
// stop) counting the outputs dropped before reaching the sink; the sink
// still counts the ones it holds as pending, never as written; the input
// of every unwritten output is nacked; and a replay of it after Redis is
// back writes them.
func TestShutdownTimeoutRedisDown(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	sink := &watchedSink{RedisSink: newQueueSink(t, rdb), flushing: make(chan struct{}, 1), flushed: make(chan struct{}, 1)}
	src := newChanSource()
	seen := make(chan struct{})
	const timeout = time.Second
	p := stream.New("shutdown", stream.Config{ShutdownTimeout: timeout})
	p.From(src).Via(stream.Map(func(ev *stream.Event) bool {
		if ev.ID == "b3-9" {
			close(seen)
		}
		return true
	})).To(sink)

	testCtx, stopTest := context.WithTimeout(context.Background(), time.Minute)
	defer stopTest()
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-testCtx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	ctx, cancel := context.WithCancel(testCtx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	src.batches <- events(1, 10)
	for sink.Stats().Written < 10 {
		wait(sink.flushed, "the first batch's flush")
	}
	srv.Stop()
	src.batches <- events(2, 10) // reaches the sink, never Redis
	wait(sink.flushing, "the flush of the second batch")
	src.batches <- events(3, 10) // waits behind the flush
	wait(seen, "the third batch")

	cancel()
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-testCtx.Done():
		t.Fatal("Run did not return")
	}
	elapsed := time.Since(start)
	var se *stream.ShutdownError
	require.ErrorAs(t, err, &se)
	require.True(t, se.TimedOut, "%v", err)
	require.Equal(t, timeout, se.Timeout)
	require.Equal(t, int64(10), se.Unwritten, "the third batch never reached the sink: %v", err)
	require.NotErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), "not finished within the shutdown timeout (1s), 10 outputs dropped unwritten")
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, timeout+timeout*3/4, "the close got a budget of its own")

	require.Equal(t, int64(10), sink.Stats().Written)
	require.Equal(t, 10, sink.Pending(), "the second batch is pending in the sink")
	for _, c := range []struct {
		id   string
		nack bool
	}{{"b1-0", false}, {"b2-0", true}, {"b3-0", true}} {
		err, ok := src.ack(c.id)
		require.True(t, ok, "batch %s settled", c.id)
		require.Equal(t, c.nack, err != nil, "batch %s nacked: %v", c.id, err)
	}

	// Redis back, the nacked input read again: every output written once.
	srv.Restart(t)
	require.Equal(t, int64(10), rdb.XLen(testCtx, "q").Val())
	replay := stream.New("replay", stream.Config{})
	replay.From(stream.NewSliceSource("replay", append(events(2, 10), events(3, 10)...), 10)).To(newQueueSink(t, rdb))
	require.NoError(t, replay.Run(testCtx))
	require.Equal(t, int64(30), rdb.XLen(testCtx, "q").Val())
}

// A shutdown that drains within the timeout returns ctx.Err() itself.
func TestShutdownCleanReturnsCanceled(t *testing.T) {
	srv := testredis.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	sink := &watchedSink{RedisSink: newQueueSink(t, rdb), flushing: make(chan struct{}, 1), flushed: make(chan struct{}, 1)}
	src := newChanSource()
	p := stream.New("clean", stream.Config{ShutdownTimeout: time.Minute})
	p.From(src).To(sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	src.batches <- events(1, 10)
	for sink.Stats().Written < 10 {
		<-sink.flushed
	}
	cancel()
	err := <-done
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	var se *stream.ShutdownError
	require.False(t, errors.As(err, &se))
	require.Equal(t, 0, sink.Pending())
}

// A source stuck in a Read that ignores ctx (stdin, or a pipe with nothing
// more to read) does not hold the shutdown: what it read is processed, and
// Run returns ctx.Err() at once, not after ShutdownTimeout (nor never, as
// when it waited for every reader to return).
func TestShutdownDoesNotWaitForAStuckReader(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	spec := stream.CSVSpec{Types: map[string]stream.Kind{"n": stream.KindInt}}
	src := stream.NewReaderSource("pipe", pr, stream.NewCSVDecoder(spec), stream.FileConfig{BatchSize: 3})
	out := stream.NewCollectSink()
	seen := make(chan struct{})
	p := stream.New("stuck", stream.Config{ShutdownTimeout: time.Hour, ProcessingTime: true})
	p.From(src).Via(stream.Map(func(ev *stream.Event) bool {
		if ev.Get("n").Int() == 4 {
			close(seen)
		}
		return true
	})).To(out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// A full batch, then the fourth line at once: the pipe has nothing more
	// for now. Then the reader is stuck in Read.
	_, err := io.WriteString(pw, "n\n1\n2\n3\n4\n")
	require.NoError(t, err)
	<-seen
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("Run waits for a reader stuck in Read")
	}
	require.Equal(t, 4, out.Len())
}

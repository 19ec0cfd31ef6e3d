package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// playLines returns n play lines with ids from id, a second apart from at.
func playLines(id, n int, at time.Time) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d,7,3,%q,0,\"10001\"\n", id+i, at.Add(time.Duration(i)*time.Second).Format(time.DateTime))
	}
	return b.String()
}

func newTestGlob(t *testing.T, pattern string, clock Clock) *GlobSource {
	t.Helper()
	g, err := NewGlobSource(pattern, func() (Decoder, error) { return testPlayDecoder(), nil },
		GlobConfig{Clock: clock, File: FileConfig{PollInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	return g
}

// A GlobSource follows each matching file as a partition of its own, and a
// file that appears is announced (Batch.NewPartitions) before its events.
func TestGlobSourceFollowsFilesAndAnnouncesNewOnes(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a, b, c := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.csv")
	require.NoError(t, os.WriteFile(a, []byte(playLines(0, 3, t0)), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(playLines(100, 2, t0)), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.csv"), 0o755)) // a directory: not followed
	clock := NewManualClock(t0)
	g := newTestGlob(t, filepath.Join(dir, "*.csv"), clock)
	require.Equal(t, []int32{0, 1}, g.Partitions())
	require.Equal(t, a, g.PartitionName(0))
	require.Equal(t, b, g.PartitionName(1))
	require.Same(t, testPlaySchema, g.Schema())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, g.Connect(ctx))
	defer func() { require.NoError(t, g.Close(context.Background())) }()
	read := func() Batch {
		t.Helper()
		batch, err := g.Read(ctx)
		require.NoError(t, err)
		return batch
	}
	byPart := map[int32][]int64{}
	for n := 0; n < 5; {
		batch := read()
		require.Empty(t, batch.NewPartitions)
		for _, ev := range batch.Events {
			byPart[ev.Pos.Partition] = append(byPart[ev.Pos.Partition], ev.Get("event_id").Int())
			require.Equal(t, map[int32]string{0: a, 1: b}[ev.Pos.Partition], ev.Pos.Source)
			require.True(t, ev.Pos.Line)
			n++
		}
	}
	require.Equal(t, map[int32][]int64{0: {0, 1, 2}, 1: {100, 101}}, byPart)

	// c appears; the next rescan announces it, then its events follow.
	require.NoError(t, os.WriteFile(c, []byte(playLines(200, 4, t0)), 0o644))
	clock.Advance(time.Second)
	batch := read()
	require.Equal(t, []int32{2}, batch.NewPartitions)
	require.Empty(t, batch.Events)
	require.Equal(t, c, g.PartitionName(2))
	var ids []int64
	for len(ids) < 4 {
		for _, ev := range read().Events {
			require.Equal(t, int32(2), ev.Pos.Partition)
			require.Equal(t, c, ev.Pos.Source)
			ids = append(ids, ev.Get("event_id").Int())
		}
	}
	require.Equal(t, []int64{200, 201, 202, 203}, ids)
	require.Equal(t, []string{a, b, c}, g.Paths())

	// A file followed grows: its new lines arrive under its partition.
	f, err := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(playLines(3, 1, t0.Add(time.Minute)))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	batch = read()
	require.Len(t, batch.Events, 1)
	require.Equal(t, int32(0), batch.Events[0].Pos.Partition)
	require.Equal(t, a+":4", batch.Events[0].Pos.String())
}

func TestGlobSourceErrors(t *testing.T) {
	_, err := NewGlobSource("[.csv", func() (Decoder, error) { return testPlayDecoder(), nil }, GlobConfig{})
	require.EqualError(t, err, "input [.csv: syntax error in pattern")
	_, err = NewGlobSource("*.csv", nil, GlobConfig{})
	require.Error(t, err)
	// A pattern matching nothing yet is a source waiting for files.
	g, err := NewGlobSource(filepath.Join(t.TempDir(), "*.csv"), func() (Decoder, error) { return testPlayDecoder(), nil }, GlobConfig{})
	require.NoError(t, err)
	require.Empty(t, g.Partitions())
	require.NoError(t, g.Close(context.Background()))
}

// scriptSource hands out the batches a test sends it, in order, and lists
// its partitions before reading (as a GlobSource lists the files that
// matched at start).
type scriptSource struct {
	parts   []int32
	batches chan Batch
}

func (s *scriptSource) Name() string                { return "script" }
func (s *scriptSource) Partitions() []int32         { return s.parts }
func (s *scriptSource) Close(context.Context) error { return nil }
func (s *scriptSource) Read(ctx context.Context) (Batch, error) {
	select {
	case b, ok := <-s.batches:
		if !ok {
			return Batch{}, ErrEndOfInput
		}
		return b, nil
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
}

func scriptEvents(part int32, times ...time.Time) []Event {
	evs := make([]Event, len(times))
	for i, at := range times {
		evs[i] = Event{Time: at.UnixNano(), Pos: Position{Source: "script", Partition: part, Offset: int64(i)}}
	}
	return evs
}

// A partition announced in NewPartitions holds the watermark of an
// ordinary pipeline until it produces: its first events, a little behind
// what another partition brought after the announcement, are not late.
// Without the announcement they are.
func TestNewPartitionHoldsTheWatermark(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, announce := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced=%v", announce), func(t *testing.T) {
			src := &scriptSource{parts: []int32{0}, batches: make(chan Batch, 8)}
			src.batches <- Batch{Events: scriptEvents(0, t0, t0.Add(10*time.Minute))}
			if announce {
				src.batches <- Batch{NewPartitions: []int32{1}}
			}
			src.batches <- Batch{Events: scriptEvents(0, t0.Add(20*time.Minute))}
			src.batches <- Batch{Events: scriptEvents(1, t0.Add(9*time.Minute+30*time.Second))}
			close(src.batches)
			out, late := NewCollectSink(), NewCollectSink()
			p := New("t", Config{OutOfOrderness: time.Minute, CountSources: true, Clock: NewManualClock(t0)})
			p.From(src).To(out).Late(late)
			runPipeline(t, p)
			if announce {
				require.Equal(t, 0, late.Len())
				require.Equal(t, 4, out.Len())
			} else {
				require.Equal(t, 1, late.Len(), "the control: without the announcement the new partition's event is late")
			}
			stats := p.SourceStats()
			require.Len(t, stats, 2)
			require.Equal(t, SourceStat{Name: "script/0", Events: 3, Registered: t0, Last: t0, Done: true}, stats[0])
			require.Equal(t, "script/1", stats[1].Name)
			require.Equal(t, int64(1), stats[1].Events)
		})
	}
}

// SourceStats counts the events of each partition, names a file by its
// path, registers the files a glob lists before they produce, and is nil
// without Config.CountSources.
func TestSourceStatsCountsPerPartition(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a, b, empty := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.csv")
	require.NoError(t, os.WriteFile(a, []byte(playLines(0, 30, t0)), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(playLines(100, 20, t0)), 0o644))
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	clock := NewManualClock(t0)
	out := NewCollectSink()
	p := New("t", Config{OutOfOrderness: time.Hour, CountSources: true, Clock: clock})
	p.From(newTestGlob(t, filepath.Join(dir, "*.csv"), clock)).To(out)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	require.NoError(t, out.WaitFor(ctx, 50))
	stats := p.SourceStats()
	require.Equal(t, []SourceStat{
		{Name: a, Events: 30, Registered: t0, Last: t0},
		{Name: b, Events: 20, Registered: t0, Last: t0},
		{Name: empty, Registered: t0},
	}, stats)
	stop()
	require.ErrorIs(t, <-done, context.Canceled)

	// Off by default.
	q := New("t", Config{})
	q.From(NewSliceSource("s", scriptEvents(-1, t0), 0)).To(Discard)
	runPipeline(t, q)
	require.Nil(t, q.SourceStats())
	// A source without partitions listed is counted from its first event,
	// under its name, and done at its end.
	r := New("t", Config{CountSources: true, Clock: clock})
	r.From(NewSliceSource("s", scriptEvents(-1, t0, t0), 1)).To(Discard)
	runPipeline(t, r)
	require.Equal(t, []SourceStat{{Name: "s", Events: 2, Registered: t0, Last: t0, Done: true}}, r.SourceStats())
}

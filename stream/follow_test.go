package stream

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// needNotify skips the test where change notification cannot watch dir.
func needNotify(t *testing.T, dir string) {
	t.Helper()
	w, err := newWatcher()
	if err == nil {
		defer w.close()
		_, err = w.created(dir)
	}
	if err != nil {
		t.Skipf("no change notification here: %v", err)
	}
}

// readAsync runs src.Read in the background; its result arrives on the
// channel returned.
func readAsync(ctx context.Context, src Source) <-chan Batch {
	ch := make(chan Batch, 1)
	go func() {
		b, err := src.Read(ctx)
		if err != nil {
			b = Batch{Rejects: []Reject{{Reason: err.Error()}}}
		}
		ch <- b
	}()
	return ch
}

// ids returns the event ids of b (and fails on a reject).
func ids(t *testing.T, b Batch) []int64 {
	t.Helper()
	require.Empty(t, b.Rejects)
	var out []int64
	for _, ev := range b.Events {
		out = append(out, ev.Get("event_id").Int())
	}
	return out
}

// appendTo appends text to the file at path.
func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// A followed file is read as soon as it is written: its poll clock never
// moves in this test, so every batch after the first comes from a change
// notification, through appends, a line written in two parts, a rotation
// (with lines the old file got after it was moved away read first) and a
// truncation. Each change is made once the reader waits (its poll ticker
// runs), so that it is not simply read on the way.
func TestFileSourceWakesOnChange(t *testing.T) {
	dir := t.TempDir()
	needNotify(t, dir)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	path := filepath.Join(dir, "live.csv")
	require.NoError(t, os.WriteFile(path, []byte(playLines(1, 1, t0)), 0o644))
	clock := NewManualClock(t0)
	src := NewFileSource(path, testPlayDecoder(), FileConfig{Follow: true, Clock: clock})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, src.Connect(ctx))
	defer func() { require.NoError(t, src.Close(context.Background())) }()
	read := func() []int64 {
		t.Helper()
		select {
		case b := <-readAsync(ctx, src):
			return ids(t, b)
		case <-ctx.Done():
			t.Fatal("no batch: the change was not noticed")
			return nil
		}
	}
	require.Equal(t, []int64{1}, read())
	waiting := func() {
		t.Helper()
		require.NoError(t, clock.WaitTickers(ctx, 1))
	}

	for id := 2; id <= 4; id++ {
		got := readAsync(ctx, src)
		waiting()
		appendTo(t, path, playLines(id, 1, t0))
		require.Equal(t, []int64{int64(id)}, ids(t, <-got))
	}
	require.NotNil(t, src.wsub, "notified, not polled")

	// A line in two writes is one event, once whole.
	got := readAsync(ctx, src)
	line := playLines(5, 1, t0)
	waiting()
	appendTo(t, path, line[:10])
	appendTo(t, path, line[10:])
	require.Equal(t, []int64{5}, ids(t, <-got))

	// Rotation: the file is moved away, its writer adds a last line to it,
	// and a new file takes its name.
	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	got = readAsync(ctx, src)
	waiting()
	require.NoError(t, os.Rename(path, path+".1"))
	_, err = old.WriteString(playLines(6, 1, t0))
	require.NoError(t, err)
	require.NoError(t, old.Close())
	require.NoError(t, os.WriteFile(path, []byte(playLines(7, 2, t0)), 0o644))
	all := ids(t, <-got)
	for len(all) < 3 {
		all = append(all, read()...)
	}
	require.Equal(t, []int64{6, 7, 8}, all)

	// Truncated in place to less than was read.
	got = readAsync(ctx, src)
	waiting()
	require.NoError(t, os.WriteFile(path, []byte(playLines(9, 1, t0)), 0o644))
	require.Equal(t, []int64{9}, ids(t, <-got))
	require.Equal(t, t0, clock.Now(), "the poll clock never moved")
}

// The poll stays the fallback: with notification off (PollOnly), or when
// a change is not notified, a followed file is read at the next poll.
func TestFileSourcePollsWithoutNotification(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, pollOnly := range []bool{true, false} {
		t.Run(map[bool]string{true: "PollOnly", false: "unnotified"}[pollOnly], func(t *testing.T) {
			dir := t.TempDir()
			if !pollOnly {
				needNotify(t, dir)
			}
			path := filepath.Join(dir, "live.csv")
			require.NoError(t, os.WriteFile(path, []byte(playLines(1, 1, t0)), 0o644))
			clock := NewManualClock(t0)
			src := NewFileSource(path, testPlayDecoder(), FileConfig{Follow: true, Clock: clock, PollOnly: pollOnly, PollInterval: time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			defer func() { require.NoError(t, src.Close(context.Background())) }()
			require.Equal(t, []int64{1}, ids(t, <-readAsync(ctx, src)))
			got := readAsync(ctx, src)
			require.NoError(t, clock.WaitTickers(ctx, 1)) // the reader waits for the poll
			if pollOnly {
				require.Nil(t, src.wsub)
			} else {
				require.NotNil(t, src.wsub)
				src.watch.remove(src.wsub) // from now on nothing is notified
			}
			appendTo(t, path, playLines(2, 1, t0))
			clock.Advance(time.Second)
			require.Equal(t, []int64{2}, ids(t, <-got))
		})
	}
}

// A line from a pipe (stdin) is delivered at once, not held until a
// batch fills or the input ends.
func TestReaderSourceDeliversWhatThePipeHas(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	src := NewReaderSource("stdin", pr, testPlayDecoder(), FileConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id := 1; id <= 3; id++ {
		got := readAsync(ctx, src)
		_, err := io.WriteString(pw, playLines(id, 1, t0))
		require.NoError(t, err)
		require.Equal(t, []int64{int64(id)}, ids(t, <-got))
	}
	// A line in two writes is one event; a full read is one batch.
	got := readAsync(ctx, src)
	line := playLines(4, 1, t0)
	_, err := io.WriteString(pw, line[:10])
	require.NoError(t, err)
	_, err = io.WriteString(pw, line[10:]+playLines(5, 2, t0))
	require.NoError(t, err)
	require.Equal(t, []int64{4, 5, 6}, ids(t, <-got))
	require.NoError(t, pw.Close())
	_, err = src.Read(ctx)
	require.ErrorIs(t, err, ErrEndOfInput)
}

// A glob's files share one watcher: an append to any of them, and a file
// created in the pattern's directory, are seen without a poll or rescan
// (the clock never moves).
func TestGlobSourceWakesOnChange(t *testing.T) {
	dir := t.TempDir()
	needNotify(t, dir)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	require.NoError(t, os.WriteFile(a, []byte(playLines(0, 1, t0)), 0o644))
	clock := NewManualClock(t0)
	g, err := NewGlobSource(filepath.Join(dir, "*.csv"), func() (Decoder, error) { return testPlayDecoder(), nil },
		GlobConfig{File: FileConfig{Clock: clock}})
	require.NoError(t, err)
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
	require.Equal(t, []int64{0}, ids(t, read()))
	// Once a's reader waits (its poll ticker and the rescan's run).
	require.NoError(t, clock.WaitTickers(ctx, 2))
	appendTo(t, a, playLines(1, 1, t0))
	require.Equal(t, []int64{1}, ids(t, read()))

	require.NoError(t, os.WriteFile(b, []byte(playLines(100, 1, t0)), 0o644))
	require.Equal(t, []int32{1}, read().NewPartitions)
	var got []int64
	for len(got) == 0 {
		got = ids(t, read())
	}
	require.Equal(t, []int64{100}, got)
	require.NoError(t, clock.WaitTickers(ctx, 3))
	appendTo(t, b, playLines(101, 1, t0))
	appendTo(t, a, playLines(2, 1, t0))
	byPart := map[int32][]int64{}
	for n := 0; n < 2; {
		for _, ev := range read().Events {
			byPart[ev.Pos.Partition] = append(byPart[ev.Pos.Partition], ev.Get("event_id").Int())
			n++
		}
	}
	require.Equal(t, map[int32][]int64{0: {2}, 1: {101}}, byPart)
	require.Equal(t, t0, clock.Now())
	g.watch.mu.Lock()
	require.Len(t, g.watch.files, 2, "one watcher for both files")
	g.watch.mu.Unlock()
}

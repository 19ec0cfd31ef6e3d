package stream

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var resumeT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// readN reads a bounded source until it has n events (or its end).
func readN(t *testing.T, src Source, n int) (evs []Event, last *SourceOffset) {
	t.Helper()
	for len(evs) < n {
		b, err := src.Read(context.Background())
		if err == ErrEndOfInput {
			break
		}
		require.NoError(t, err)
		evs = append(evs, b.Events...)
		if b.Resume != nil {
			last = b.Resume
		}
	}
	return evs, last
}

// offsetsOf returns each event's id and line.
func offsetsOf(evs []Event) (ids, lines []int64) {
	for _, ev := range evs {
		ids = append(ids, ev.Get("event_id").Int())
		lines = append(lines, ev.Pos.Offset)
	}
	return ids, lines
}

// A file resumed at a batch's offset reads on from the next line, with the
// same line numbers; a replaced file (another inode) and a truncated one
// are read from their beginning, numbered on, and the log says so.
func TestFileSourceResumesAtItsOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(path, []byte("\ufeff"+playLines(1, 2, resumeT0)+"\n"+playLines(3, 3, resumeT0)), 0o644))
	cfg := FileConfig{BatchSize: 2}
	first := NewFileSource(path, testPlayDecoder(), cfg)
	require.NoError(t, first.Connect(context.Background()))
	evs, at := readN(t, first, 2)
	require.NoError(t, first.Close(context.Background()))
	require.Len(t, evs, 2)
	require.NotNil(t, at)
	require.Equal(t, int64(2), at.Line)
	require.Equal(t, int64(3+len(playLines(1, 2, resumeT0))), at.Byte, "the BOM and two lines")
	require.NotZero(t, at.Ino)

	resume := func(at SourceOffset, log *bytes.Buffer) ([]int64, []int64) {
		t.Helper()
		src := NewFileSource(path, testPlayDecoder(), FileConfig{Logger: slog.New(slog.NewTextHandler(log, nil))})
		took, err := src.Resume([]SourceOffset{at})
		require.NoError(t, err)
		require.Equal(t, []SourceOffset{{Partition: -1, Name: path, Line: at.Line, Byte: at.Byte, Dev: at.Dev, Ino: at.Ino}}, took)
		require.NoError(t, src.Connect(context.Background()))
		defer src.Close(context.Background())
		evs, _ := readN(t, src, 100)
		return offsetsOf(evs)
	}
	var log bytes.Buffer
	ids, lines := resume(*at, &log)
	require.Equal(t, []int64{3, 4, 5}, ids)
	require.Equal(t, []int64{4, 5, 6}, lines, "line 3 is blank")
	require.Empty(t, log.String())

	// Replaced by another file at the same path (a rotation): read whole.
	tmp := filepath.Join(dir, "new.csv")
	require.NoError(t, os.WriteFile(tmp, []byte(playLines(10, 2, resumeT0)+playLines(12, 9, resumeT0)), 0o644))
	require.NoError(t, os.Rename(tmp, path))
	ids, lines = resume(*at, &log)
	require.Equal(t, []int64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, ids)
	require.Equal(t, int64(3), lines[0], "numbered on from the checkpoint's line")
	require.Contains(t, log.String(), "not the one checkpointed")

	// The same file, truncated and written anew: read whole.
	f, err := os.OpenFile(path, os.O_TRUNC|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(playLines(30, 1, resumeT0))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	same := *at
	same.Dev, same.Ino = fileID(fi)
	log.Reset()
	ids, _ = resume(same, &log)
	require.Equal(t, []int64{30}, ids)
	require.Contains(t, log.String(), "truncated")
}

// A header CSV file resumed past its header learns its columns from it.
func TestFileSourceResumesPastItsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.csv")
	require.NoError(t, os.WriteFile(path, []byte("id,name\n1,a\n2,b\n3,c\n"), 0o644))
	newSrc := func() *FileSource { return NewFileSource(path, NewCSVDecoder(CSVSpec{}), FileConfig{BatchSize: 1}) }
	src := newSrc()
	require.NoError(t, src.Connect(context.Background()))
	_, at := readN(t, src, 1)
	require.NoError(t, src.Close(context.Background()))
	require.Equal(t, int64(2), at.Line)

	src = newSrc()
	_, err := src.Resume([]SourceOffset{*at})
	require.NoError(t, err)
	require.NoError(t, src.Connect(context.Background()))
	defer src.Close(context.Background())
	evs, _ := readN(t, src, 10)
	require.Len(t, evs, 2)
	require.Equal(t, "b", evs[0].Get("name").Str())
	require.Equal(t, int64(3), evs[0].Pos.Offset)
}

// resumeStore is a MemoryCheckpoints that tells which key it saved.
func resumeStore() *notifyStore {
	return &notifyStore{MemoryCheckpoints: NewMemoryCheckpoints(), saved: make(chan string, 100)}
}

// loadResume returns a checkpoint's offsets.
func loadResume(t *testing.T, store CheckpointStore, key string) (*Checkpoint, []resumePoint) {
	t.Helper()
	cp, err := store.Load(context.Background(), key)
	require.NoError(t, err)
	require.NotNil(t, cp, key)
	pts, err := decodeResume(cp.Resume)
	require.NoError(t, err)
	return cp, pts
}

// runUntil runs p until sink holds n events, then stops it as SIGTERM
// would.
func runUntil(t *testing.T, p *Pipeline, sink *CollectSink, n int, during func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	require.NoError(t, sink.WaitFor(wait, n))
	if during != nil {
		during()
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// A followed file is checkpointed while read (every CheckpointInterval)
// and at a stop, with its offset and the operators' state, and the next
// run resumes there: the counts go on and nothing is read twice.
func TestFollowedFileResumesFromItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plays.csv")
	require.NoError(t, os.WriteFile(path, []byte(playLines(1, 10, resumeT0)), 0o644))
	store := resumeStore()
	clock := NewManualClock(resumeT0)
	fileClock := NewManualClock(resumeT0) // never moves: no poll
	run := func() (*Pipeline, *CollectSink) {
		src := NewFileSource(path, testPlayDecoder(), FileConfig{Follow: true, Clock: fileClock, BatchSize: 4})
		sink := NewCollectSink()
		return partitionedPipeline(store, src, sink, clock), sink
	}
	key := "cp/" + path + "/-1"

	p, sink := run()
	runUntil(t, p, sink, 10, func() {
		// The interval's checkpoint, while following.
		clock.Advance(2 * time.Second)
		require.Equal(t, key, <-store.saved)
	})
	cp, pts := loadResume(t, store, key)
	require.Len(t, pts, 1)
	require.Equal(t, int64(10), pts[0].off.Line)
	require.Equal(t, int64(len(playLines(1, 10, resumeT0))), pts[0].off.Byte)
	require.Equal(t, int64(11), cp.Offset)
	require.Equal(t, resumeT0.Add(9*time.Second).UnixNano(), cp.MaxTime)

	appendTo(t, path, playLines(11, 5, resumeT0.Add(10*time.Second)))
	p, sink = run()
	runUntil(t, p, sink, 5, nil)
	ids, lines := offsetsOf(sink.Events())
	require.Equal(t, []int64{11, 12, 13, 14, 15}, lines)
	require.Len(t, ids, 5)
	var counts []int64
	for _, ev := range sink.Events() {
		counts = append(counts, ev.Fields[0].Int())
	}
	require.Equal(t, []int64{11, 12, 13, 14, 15}, counts, "the counter's state was restored")
	_, pts = loadResume(t, store, key)
	require.Equal(t, int64(15), pts[0].off.Line)
}

// A followed glob's files share one chain of operators: its one checkpoint
// holds the shared state and every file's offset, and each file resumes
// at its own, found by path however the files are numbered now.
func TestFollowedGlobResumesEachFile(t *testing.T) {
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.csv"), filepath.Join(dir, "c.csv")
	require.NoError(t, os.WriteFile(a, []byte(playLines(1, 3, resumeT0)), 0o644))
	require.NoError(t, os.WriteFile(c, []byte(playLines(100, 2, resumeT0)), 0o644))
	pattern := filepath.Join(dir, "*.csv")
	store := resumeStore()
	clock := NewManualClock(resumeT0)
	run := func() (*Pipeline, *CollectSink) {
		g := newTestGlob(t, pattern, NewManualClock(resumeT0))
		sink := NewCollectSink()
		p := New("cp", Config{Checkpoints: store, CheckpointInterval: time.Second, Clock: clock, OutOfOrderness: time.Minute})
		return p.From(g).Via(&counter{}).To(sink), sink
	}
	key := "cp/" + pattern + "/-1"

	p, sink := run()
	runUntil(t, p, sink, 5, nil)
	_, pts := loadResume(t, store, key)
	byName := map[string]int64{}
	for _, pt := range pts {
		byName[pt.off.Name] = pt.off.Line
		require.Equal(t, resumeT0.Add(time.Second*time.Duration(pt.off.Line-1)).UnixNano(), pt.maxTime)
	}
	require.Equal(t, map[string]int64{a: 3, c: 2}, byName)

	// b.csv sorts between them: c.csv is partition 2 now.
	b := filepath.Join(dir, "b.csv")
	require.NoError(t, os.WriteFile(b, []byte(playLines(200, 1, resumeT0)), 0o644))
	appendTo(t, a, playLines(4, 1, resumeT0.Add(3*time.Second)))
	appendTo(t, c, playLines(102, 2, resumeT0.Add(2*time.Second)))
	p, sink = run()
	runUntil(t, p, sink, 4, nil)
	got := map[string][]int64{}
	var top int64
	for _, ev := range sink.Events() {
		got[ev.Pos.Source] = append(got[ev.Pos.Source], ev.Pos.Offset)
		top = max(top, ev.Fields[0].Int())
	}
	require.Equal(t, map[string][]int64{a: {4}, b: {1}, c: {3, 4}}, got)
	require.Equal(t, int64(9), top, "the shared counter went on from 5")
	_, pts = loadResume(t, store, key)
	byName = map[string]int64{}
	for _, pt := range pts {
		byName[pt.off.Name] = pt.off.Line
	}
	require.Equal(t, map[string]int64{a: 4, b: 1, c: 4}, byName)
}

// Checkpoints need a source the runner can resume.
func TestCheckpointsNeedAResumableSource(t *testing.T) {
	store := NewMemoryCheckpoints()
	err := New("cp", Config{Checkpoints: store}).From(NewChanSource("c")).Via(&counter{}).To(NewCollectSink()).Validate()
	require.ErrorContains(t, err, "one resumable source")
	g := newTestGlob(t, filepath.Join(t.TempDir(), "*.csv"), NewManualClock(resumeT0))
	err = New("cp", Config{Checkpoints: store}).From(g).ViaPartitioned(func(PartitionID) ([]Operator, error) { return nil, nil }).
		To(NewCollectSink()).Validate()
	require.ErrorContains(t, err, "ordinary pipeline (Via)")
	require.NoError(t, New("cp", Config{Checkpoints: store}).From(g).Via(&counter{}).To(NewCollectSink()).Validate())
}

// Checkpoint versions 4 and 5 round-trip Resume; version 2 still reads.
func TestCheckpointResumeEncoding(t *testing.T) {
	pts := []resumePoint{{off: SourceOffset{Name: "a.csv", Line: 7, Byte: 420, Dev: 3, Ino: 99}, maxTime: 5}, {off: SourceOffset{Name: "b", Line: 1}, maxTime: MinWatermark}}
	cp := Checkpoint{Offset: 8, MaxTime: 5, State: []byte{1}, SavedAt: time.Unix(0, 9), Watermark: 2, Resume: encodeResume(pts)}
	b, err := cp.MarshalBinary()
	require.NoError(t, err)
	var got Checkpoint
	require.NoError(t, got.UnmarshalBinary(b))
	require.Equal(t, cp.Resume, got.Resume)
	back, err := decodeResume(got.Resume)
	require.NoError(t, err)
	require.Equal(t, pts, back)

	v2 := append([]byte{2}, b[1:len(b)-1-len(cp.Resume)]...)
	require.NoError(t, got.UnmarshalBinary(v2))
	require.Nil(t, got.Resume)
	require.Equal(t, int64(8), got.Offset)
	require.True(t, strings.HasPrefix(string(b), "\x04"), "version 2 with Resume")

	// A delta checkpoint's header with Resume: version 5.
	cp.State, cp.Delta = nil, &StateDelta{Meta: []byte{7}}
	b, err = cp.MarshalBinary()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "\x05"))
	got = Checkpoint{}
	require.NoError(t, got.UnmarshalBinary(b))
	require.Equal(t, cp.Resume, got.Resume)
	require.Equal(t, []byte{7}, got.Delta.Meta)

	// Without Resume (a Kafka partition's), the encoding is as before.
	cp.Resume = nil
	b, err = cp.MarshalBinary()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "\x03"))
}

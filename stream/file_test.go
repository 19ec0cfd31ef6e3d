package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func runPipeline(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Run(ctx))
}

func TestFileSourceDeadLettersMalformedLines(t *testing.T) {
	// Good lines interleaved with every kind of malformed record.
	lines := []string{}
	bad := map[int64]string{} // line number -> reason fragment
	var wantIDs []int64
	add := func(l string, reason string) {
		lines = append(lines, l)
		if reason != "" {
			bad[int64(len(lines))] = reason
		}
	}
	for i := 0; i < 200; i++ {
		add(fmt.Sprintf(`%d,%d,%d,"2014-10-01 00:%02d:%02d",%d,"%05d"`, i, i%17, i%5, i/60, i%60, i%2, 10000+i), "")
		wantIDs = append(wantIDs, int64(i))
		switch i % 25 {
		case 3:
			add(`1,2,3,"2014-10-01 00:00:00",0`, "5 columns")
		case 7:
			add(`abc,2,3,"2014-10-01 00:00:00",0,"1"`, `field event_id: "abc" is not an integer`)
		case 11:
			add(`9,2,3,"2014-02-31 00:00:00",0,"1"`, "is not a time (YYYY-MM-DD hh:mm:ss or RFC 3339)")
		case 13:
			add("9,2,3,\"2014-10-01 00:00:00\",0,\"\xff\xfe\"", "invalid UTF-8")
		case 17:
			add("\x00\x01\x02\x03junk\x7f", "binary data")
		case 19:
			add(`9,2,3,"2014-10-01 00:00:00,0,"1`, "text after a closing quote")
		case 21:
			add("", "") // blank lines are skipped silently
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "plays.csv")
	content := strings.Join(lines, "\r\n") // CRLF line ends; no newline at the very end
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))

	out, dead := NewCollectSink(), NewCollectSink()
	p := New("t", Config{OutOfOrderness: time.Hour})
	p.From(NewFileSource(path, testPlayDecoder(), FileConfig{BatchSize: 7, ChunkSize: 64})).To(out).DeadLetter(dead)
	runPipeline(t, p)

	var got []int64
	for _, ev := range out.Events() {
		got = append(got, ev.Get("event_id").Int())
		require.Equal(t, path, ev.Pos.Source)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	require.Equal(t, wantIDs, got, "every good event arrives")

	require.Equal(t, len(bad)-countEmpty(bad), dead.Len())
	for _, d := range dead.Events() {
		require.Equal(t, DeadLetterSchema, d.Schema)
		line := d.Pos.Offset
		reason, ok := bad[line]
		require.True(t, ok, "line %d dead-lettered but is good", line)
		require.Contains(t, d.Get("reason").Str(), reason)
		require.Equal(t, fmt.Sprintf("%s:%d", path, line), d.Get("position").Str())
		require.Equal(t, path, d.Get("source").Str())
		require.Equal(t, lines[line-1], d.Get("raw").Str(), "raw bytes kept")
	}
	st := p.Stats()
	require.Equal(t, int64(dead.Len()), st.DeadLetters)
	require.Equal(t, int64(len(wantIDs)), st.EventsIn)
	require.Equal(t, int64(len(wantIDs)), st.EventsOut)
}

func countEmpty(m map[int64]string) int {
	n := 0
	for _, v := range m {
		if v == "" {
			n++
		}
	}
	return n
}

func TestFileSourceLongLineRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.csv")
	long := strings.Repeat("9", 5000)
	content := `1,2,3,"2014-10-01 00:00:00",0,"1"` + "\n" + long + "\n" + `2,2,3,"2014-10-01 00:00:01",0,"1"` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("t", Config{})
	p.From(NewFileSource(path, testPlayDecoder(), FileConfig{ChunkSize: 256, MaxLineSize: 1024})).To(out).DeadLetter(dead)
	runPipeline(t, p)
	require.Equal(t, 2, out.Len())
	require.Equal(t, 1, dead.Len())
	d := dead.Events()[0]
	require.Equal(t, int64(2), d.Pos.Offset)
	require.Equal(t, "line longer than 1024 bytes", d.Get("reason").Str())
	require.Equal(t, long[:1024], d.Get("raw").Str()[:1024], "the line's start is kept")
	require.Equal(t, int64(3), out.Events()[1].Pos.Offset)
}

func TestFileSourceFollowsGrowingAndRotatedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.csv")
	require.NoError(t, os.WriteFile(path, []byte(`1,1,1,"2014-10-01 00:00:01",0,"1"`+"\n"), 0o644))
	out := NewCollectSink()
	p := New("follow", Config{})
	p.From(NewFileSource(path, testPlayDecoder(), FileConfig{Follow: true, PollInterval: 5 * time.Millisecond})).To(out)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	require.NoError(t, out.WaitFor(ctx, 1))

	// Append, including a line written in two parts.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`2,1,1,"2014-10-01 00:00:02",0,"1"` + "\n" + `3,1,1,"2014-10-01 00:00:03"`)
	require.NoError(t, err)
	require.NoError(t, out.WaitFor(ctx, 2))
	_, err = f.WriteString(`,0,"1"` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, out.WaitFor(ctx, 3))

	// Rotate: move the file away and start a new one, as logrotate does.
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, os.WriteFile(path, []byte(`4,1,1,"2014-10-01 00:00:04",0,"1"`+"\n"+`5,1,1,"2014-10-01 00:00:05",0,"1"`+"\n"), 0o644))
	require.NoError(t, out.WaitFor(ctx, 5))
	// Truncate in place and write less than was read (as tail -F, a
	// truncation is seen when the file shrinks below what was read).
	require.NoError(t, os.WriteFile(path, []byte(`6,1,1,"2014-10-01 00:00:06",0,"1"`+"\n"), 0o644))
	require.NoError(t, out.WaitFor(ctx, 6))

	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	var ids []int64
	for _, ev := range out.Events() {
		ids = append(ids, ev.Get("event_id").Int())
	}
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6}, ids)
}

func TestReaderSourceHeaderCSV(t *testing.T) {
	in := "EventID,CustID,AdClicked,Localtime\n1,5,\"ADV_REDUCED_1DAY\",\"2014-10-02 10:00:00\"\n2,x,\"A\",\"2014-10-02 10:00:00\"\n"
	spec := CSVSpec{Types: map[string]Kind{"EventID": KindInt, "CustID": KindInt, "Localtime": KindTime}, TimeField: "Localtime", KeyFields: []string{"CustID"}}
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("t", Config{})
	p.From(NewReaderSource("clicks.csv", strings.NewReader(in), NewCSVDecoder(spec), FileConfig{})).To(out).DeadLetter(dead)
	runPipeline(t, p)
	require.Equal(t, 1, out.Len())
	require.Equal(t, "5", out.Events()[0].Key)
	require.Equal(t, 1, dead.Len())
	require.Equal(t, "clicks.csv:3", dead.Events()[0].Get("position").Str())

	// A header that does not fit the spec stops the pipeline with a clear error.
	p = New("t", Config{})
	p.From(NewReaderSource("clicks.csv", strings.NewReader("A,B\n1,2\n"), NewCSVDecoder(spec), FileConfig{})).To(Discard)
	err := p.Run(context.Background())
	require.ErrorContains(t, err, `clicks.csv:1: header: no column "CustID"`)
}

func TestSharedDataTracksLive(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "tracks_live.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skip("../shared/data not present")
	}
	// Its times are unordered over three months: with a watermark bound of
	// 100 days nothing is late.
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("t", Config{OutOfOrderness: 100 * 24 * time.Hour})
	p.From(NewFileSource(path, testPlayDecoder(), FileConfig{})).To(out).DeadLetter(dead)
	runPipeline(t, p)
	require.Equal(t, 3474, out.Len())
	require.Equal(t, 0, dead.Len())
	ids := map[int64]int{}
	for _, ev := range out.Events() {
		ids[ev.Get("event_id").Int()]++
	}
	require.Equal(t, 3474-792, len(ids), "the last 792 rows re-deliver earlier event ids")
}

func TestFileSourceRereadsHeaderAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.csv")
	require.NoError(t, os.WriteFile(path, []byte("\ufefftext,n\nfirst,1\n"), 0o644))
	sc := MustSchema("row", Field{Name: "n", Kind: KindInt}, Field{Name: "text", Kind: KindString})
	dec, err := NewHeaderCSVDecoder(RecordSpec{Schema: sc, KeyFields: []string{"text"}}, CSVConfig{})
	require.NoError(t, err)
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("follow", Config{})
	src := NewFileSource(path, dec, FileConfig{Follow: true, PollInterval: 5 * time.Millisecond})
	require.Same(t, sc, src.Schema())
	p.From(src).To(out).DeadLetter(dead)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	require.NoError(t, out.WaitFor(ctx, 1))

	// The new file has its own header, in another order, and its own BOM.
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, os.WriteFile(path, []byte("\ufeffn,text\n2,second\n"), 0o644))
	require.NoError(t, out.WaitFor(ctx, 2))
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 0, dead.Len())
	var got []string
	for _, ev := range out.Events() {
		got = append(got, fmt.Sprintf("%s=%d", ev.Key, ev.Get("n").Int()))
	}
	require.Equal(t, []string{"first=1", "second=2"}, got)
}

func TestFileSourceTruncatedHeaderCSVGoesOnWithoutHeader(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.csv")
	require.NoError(t, os.WriteFile(path, []byte("text,n\nfirst,1\nmore,2\nlines,3\n"), 0o644))
	out, dead := NewCollectSink(), NewCollectSink()
	p := New("follow", Config{})
	spec := CSVSpec{Types: map[string]Kind{"n": KindInt}, KeyFields: []string{"text"}}
	p.From(NewFileSource(path, NewCSVDecoder(spec), FileConfig{Follow: true, PollInterval: 5 * time.Millisecond})).To(out).DeadLetter(dead)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	require.NoError(t, out.WaitFor(ctx, 3))

	// Truncated in place (copytruncate) and written on without a header.
	require.NoError(t, os.WriteFile(path, []byte("second,4\n"), 0o644))
	require.NoError(t, out.WaitFor(ctx, 4))
	// Replaced by a file with the same header (schema from the header).
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, os.WriteFile(path, []byte("text,n\nthird,5\n"), 0o644))
	require.NoError(t, out.WaitFor(ctx, 5))
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 0, dead.Len())
	var got []string
	for _, ev := range out.Events() {
		got = append(got, fmt.Sprintf("%s=%d", ev.Key, ev.Get("n").Int()))
	}
	require.Equal(t, []string{"first=1", "more=2", "lines=3", "second=4", "third=5"}, got)
	require.Same(t, out.Events()[0].Schema, out.Events()[4].Schema, "one schema across files")
}

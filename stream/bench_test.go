package stream_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/cputime"
	"github.com/rulestream/rulestream/stream"
)

func playCSV(b *testing.B, n int) []byte {
	b.Helper()
	d := gen.Generate(gen.Config{Seed: 1, Plays: n, MaxDelay: time.Minute})
	var buf bytes.Buffer
	if err := gen.WritePlays(&buf, d.Plays); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeColumns measures the file source with the demo's play
// decoder (gen.PlayDecoder, a ColumnsDecoder): one op is one CSV row read,
// split, parsed and turned into an event.
func BenchmarkDecodeColumns(b *testing.B) {
	benchmarkDecode(b, playCSV(b, 200_000), 200_000, gen.PlayDecoder())
}

// BenchmarkDecodeJSON is BenchmarkDecodeColumns with the same plays as
// JSON lines, read by a JSONDecoder over the same schema.
func BenchmarkDecodeJSON(b *testing.B) {
	dec, err := stream.NewJSONDecoder(stream.RecordSpec{Schema: gen.PlaySchema, TimeField: "datetime",
		KeyFields: []string{"customer_id"}}, stream.JSONConfig{})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkDecode(b, playJSON(b, 200_000), 200_000, dec)
}

// playJSON returns n generated plays as JSON lines.
func playJSON(b *testing.B, n int) []byte {
	b.Helper()
	d := gen.Generate(gen.Config{Seed: 1, Plays: n, MaxDelay: time.Minute})
	var buf []byte
	for _, p := range d.Plays {
		buf = append(buf, `{"event_id":`...)
		buf = strconv.AppendInt(buf, p.EventID, 10)
		buf = append(buf, `,"customer_id":`...)
		buf = strconv.AppendInt(buf, p.CustomerID, 10)
		buf = append(buf, `,"track_id":`...)
		buf = strconv.AppendInt(buf, p.TrackID, 10)
		buf = append(buf, `,"datetime":"`...)
		buf = p.Time.UTC().AppendFormat(buf, time.DateTime)
		buf = append(buf, `","ismobile":`...)
		buf = strconv.AppendBool(buf, p.Mobile)
		buf = append(buf, `,"listening_zip_code":`...)
		buf = strconv.AppendQuote(buf, p.Zip)
		buf = append(buf, "}\n"...)
	}
	return buf
}

// benchmarkDecode reads data (rows lines) through a reader source with dec,
// round and round: one op is one row read, split, parsed and turned into an
// event.
func benchmarkDecode(b *testing.B, data []byte, rows int, dec stream.Decoder) {
	b.SetBytes(int64(len(data) / rows))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	ctx := context.Background()
	src := stream.NewReaderSource("bench", bytes.NewReader(data), dec, stream.FileConfig{})
	for n := 0; n < b.N; {
		batch, err := src.Read(ctx)
		if err == stream.ErrEndOfInput {
			src = stream.NewReaderSource("bench", bytes.NewReader(data), dec, stream.FileConfig{})
			continue
		}
		if err != nil || len(batch.Rejects) > 0 {
			b.Fatal(err, batch.Rejects)
		}
		n += len(batch.Events)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	// CPU time measures the decoder's own cost better on a shared machine.
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/row")
}

// ringSource hands out batches of a fixed set of events, round and round,
// until n events were read. It does not copy: the runner keeps at most a few
// batches in flight, far fewer than the ring holds.
type ringSource struct {
	events []stream.Event // length a multiple of 2*batch
	batch  int
	next   int
	left   int
	laps   int
	span   int64 // event-time span of one lap
}

func newRing(events []stream.Event, batch, n int) *ringSource {
	events = events[:len(events)/(2*batch)*(2*batch)]
	span := events[len(events)-1].Time - events[0].Time + 1
	return &ringSource{events: events, batch: batch, left: n, span: span}
}

func (r *ringSource) Name() string { return "ring" }
func (r *ringSource) Read(context.Context) (stream.Batch, error) {
	if r.left <= 0 {
		return stream.Batch{}, stream.ErrEndOfInput
	}
	if r.next == len(r.events) {
		r.next = 0
		r.laps++
	}
	// Each lap moves forward in event time so that nothing becomes late.
	// A half of the ring is shifted as it is entered: the batches still in
	// flight are all in the other half.
	half := len(r.events) / 2
	if r.laps > 0 && (r.next == 0 || r.next == half) {
		for i := r.next; i < r.next+half; i++ {
			r.events[i].Time += r.span
		}
	}
	n := min(r.batch, r.left)
	evs := r.events[r.next : r.next+n : r.next+n]
	r.next += r.batch
	r.left -= n
	return stream.Batch{Events: evs}, nil
}

func (r *ringSource) Close(context.Context) error { return nil }

// BenchmarkPassThrough measures the runner: an in-memory source, no
// operators, a no-op sink. One op is one event through the pipeline.
func BenchmarkPassThrough(b *testing.B) { benchPassThrough(b, 0) }

// BenchmarkPassThroughNoGuard is BenchmarkPassThrough without the
// watermark's outlier guard (MaxAhead -1): the guard's cost is the ratio.
func BenchmarkPassThroughNoGuard(b *testing.B) { benchPassThrough(b, -1) }

func benchPassThrough(b *testing.B, maxAhead time.Duration) {
	d := gen.Generate(gen.Config{Seed: 2, Plays: 1 << 16})
	evs := gen.PlayEvents("bench", d.Plays)
	b.ReportAllocs()
	b.ResetTimer()
	p := stream.New("bench", stream.Config{OutOfOrderness: time.Hour, MaxAhead: maxAhead})
	p.From(newRing(evs, 1024, b.N)).To(stream.Discard)
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := p.Stats().EventsOut; got != int64(b.N) {
		b.Fatalf("%d events out of %d", got, b.N)
	}
	if st := p.Stats(); st.Ahead != 0 {
		b.Fatalf("%d events held ahead", st.Ahead)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPassThroughMap is BenchmarkPassThrough with one stateless
// operator, so events are copied once between stages.
func BenchmarkPassThroughMap(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 2, Plays: 1 << 16})
	evs := gen.PlayEvents("bench", d.Plays)
	b.ReportAllocs()
	b.ResetTimer()
	p := stream.New("bench", stream.Config{OutOfOrderness: time.Hour})
	p.From(newRing(evs, 1024, b.N)).Via(stream.Map(func(*stream.Event) bool { return true })).To(stream.Discard)
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := p.Stats().EventsOut; got != int64(b.N) {
		b.Fatalf("%d events out of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodePlaysEncodingCSV is the baseline for BenchmarkDecodeColumns:
// the same rows read with encoding/csv and parsed with strconv and
// time.Parse into the same events, as one would without the library.
func BenchmarkDecodePlaysEncodingCSV(b *testing.B) {
	data := playCSV(b, 200_000)
	b.SetBytes(int64(len(data) / 200_000))
	b.ReportAllocs()
	b.ResetTimer()
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	for n := 0; n < b.N; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			r = csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
			rec, err = r.Read()
		}
		if err != nil || len(rec) != 6 {
			b.Fatal(err)
		}
		id, err1 := strconv.ParseInt(rec[0], 10, 64)
		cust, err2 := strconv.ParseInt(rec[1], 10, 64)
		track, err3 := strconv.ParseInt(rec[2], 10, 64)
		ts, err4 := time.Parse(time.DateTime, rec[3])
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			b.Fatal(err)
		}
		ev := stream.Event{Key: rec[1], Time: ts.UnixNano(), Schema: gen.PlaySchema, Fields: []stream.Value{
			stream.Int(id), stream.Int(cust), stream.Int(track), stream.Time(ts), stream.Bool(rec[4] == "1"), stream.String(rec[5]),
		}}
		_ = ev
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkChannelFloor is the floor for BenchmarkPassThrough: batches of
// 1024 events handed from one goroutine to another over a buffered channel,
// which is what any concurrent pipeline must at least do.
func BenchmarkChannelFloor(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 2, Plays: 1 << 16})
	evs := gen.PlayEvents("bench", d.Plays)
	b.ReportAllocs()
	b.ResetTimer()
	ch := make(chan []stream.Event, 4)
	go func() {
		for left, next := b.N, 0; left > 0; {
			n := min(1024, left)
			if next+n > len(evs) {
				next = 0
			}
			ch <- evs[next : next+n]
			next += n
			left -= n
		}
		close(ch)
	}()
	got := 0
	for batch := range ch {
		got += len(batch)
	}
	if got != b.N {
		b.Fatal(got)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSortByTime sorts 1M generated plays delivered out of order:
// one op is one event read, judged, encoded, sorted and decoded again.
// bytes/event is the memory the sort held (encoded events and index) per
// event; "spill" keeps 16 MiB in memory and merges runs from disk.
func BenchmarkSortByTime(b *testing.B) {
	d := gen.Generate(gen.Config{Seed: 3, Plays: 1 << 20, MaxDelay: time.Hour})
	evs := gen.PlayEvents("bench", d.Plays)
	for _, c := range []struct {
		name   string
		budget int64
	}{{"memory", 1 << 30}, {"spill", 16 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			done := 0
			var st stream.SortStats
			for done < b.N {
				n := min(len(evs), b.N-done)
				src, err := stream.SortByTime([]stream.Source{stream.NewSliceSource("bench", evs[:n], 1024)},
					stream.SortConfig{OutOfOrderness: 2400 * time.Hour, Budget: c.budget, Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				for {
					batch, err := src.Read(context.Background())
					if errors.Is(err, stream.ErrEndOfInput) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					done += len(batch.Events)
				}
				st = src.Stats()
				_ = src.Close(context.Background())
			}
			b.ReportMetric(float64(st.PeakBytes)/float64(st.Events), "bytes/event")
			b.ReportMetric(float64(st.Runs), "runs")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

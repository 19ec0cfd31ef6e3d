package stream_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkFollowLatency measures the I/O latency floor of a followed
// file: from a line's append (one write call) to its event coming out of
// the FileSource, with change notification and with the poll alone
// (PollOnly, the default 250ms PollInterval), at 1k and 10k lines/s. One op
// is one line; run it with -benchtime=5000x (5 s at 1k/s). It reports the
// p50, p99 and max latency.
func BenchmarkFollowLatency(b *testing.B) {
	for _, mode := range []struct {
		name     string
		pollOnly bool
	}{{"notify", false}, {"poll", true}} {
		for _, rate := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d-per-s", mode.name, rate), func(b *testing.B) {
				benchFollowLatency(b, rate, mode.pollOnly)
			})
		}
	}
}

func benchFollowLatency(b *testing.B, rate int, pollOnly bool) {
	path := filepath.Join(b.TempDir(), "live.csv")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	src := stream.NewFileSource(path, gen.PlayDecoder(), stream.FileConfig{Follow: true, PollOnly: pollOnly})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := src.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer src.Close(context.Background())
	lines := latencyLines(b.N)
	sent := make([]atomic.Int64, b.N)
	start := time.Now()
	b.ResetTimer()
	writeErr := make(chan error, 1)
	go func() {
		writeErr <- paced(ctx, b.N, rate, func(i int) error {
			sent[i].Store(int64(time.Since(start)))
			_, err := f.Write(lines[i])
			return err
		})
	}()
	lat := readLatencies(ctx, b, src, sent, start)
	b.StopTimer()
	if err := <-writeErr; err != nil {
		b.Fatal(err)
	}
	reportLatency(b, lat)
}

// latencyLines returns n play lines whose event_id is their index.
func latencyLines(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%d,%d,7,\"2014-10-01 00:00:00\",0,\"10001\"\n", i, i%200)
	}
	return out
}

// paced calls send(i) for i in [0, n), rate times a second, on an
// absolute schedule (a late call is not made up by sleeping less later
// than the schedule says).
func paced(ctx context.Context, n, rate int, send func(i int) error) error {
	every := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := send(i); err != nil {
			return err
		}
	}
	return nil
}

// readLatencies reads src until every one of the len(sent) events came
// out, and returns how long after its sending each one did.
func readLatencies(ctx context.Context, b *testing.B, src stream.Source, sent []atomic.Int64, start time.Time) []time.Duration {
	lat := make([]time.Duration, 0, len(sent))
	for len(lat) < len(sent) {
		batch, err := src.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Since(start)
		for _, ev := range batch.Events {
			lat = append(lat, now-time.Duration(sent[ev.Get("event_id").Int()].Load()))
		}
		if len(batch.Rejects) > 0 {
			b.Fatal(batch.Rejects)
		}
		if batch.Ack != nil {
			_ = batch.Ack(ctx, nil)
		}
	}
	return lat
}

// reportLatency reports the p50, p99 and max of lat in microseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// BenchmarkPipeLatency is BenchmarkFollowLatency for a pipe (stdin): from
// a line's write into the pipe to its event out of a reader source.
func BenchmarkPipeLatency(b *testing.B) {
	for _, rate := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%d-per-s", rate), func(b *testing.B) {
			pr, pw, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			defer pr.Close()
			src := stream.NewReaderSource("stdin", pr, gen.PlayDecoder(), stream.FileConfig{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := latencyLines(b.N)
			sent := make([]atomic.Int64, b.N)
			start := time.Now()
			b.ResetTimer()
			writeErr := make(chan error, 1)
			go func() {
				defer pw.Close()
				writeErr <- paced(ctx, b.N, rate, func(i int) error {
					sent[i].Store(int64(time.Since(start)))
					_, err := pw.Write(lines[i])
					return err
				})
			}()
			lat := readLatencies(ctx, b, src, sent, start)
			b.StopTimer()
			if err := <-writeErr; err != nil {
				b.Fatal(err)
			}
			reportLatency(b, lat)
		})
	}
}

// BenchmarkDecodePipe is BenchmarkDecodeColumns through an OS pipe, as
// stdin is read: the writer is faster than the reader, whose reads take
// what the pipe holds.
func BenchmarkDecodePipe(b *testing.B) {
	data := playCSV(b, 200_000)
	b.SetBytes(int64(len(data) / 200_000))
	b.ReportAllocs()
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer pr.Close()
	go func() {
		defer pw.Close()
		for written := 0; written < b.N; written += 200_000 {
			if _, err := pw.Write(data); err != nil {
				return
			}
		}
	}()
	src := stream.NewReaderSource("stdin", pr, gen.PlayDecoder(), stream.FileConfig{})
	b.ResetTimer()
	batches := 0
	for n := 0; n < b.N; batches++ {
		batch, err := src.Read(context.Background())
		if err == io.EOF || err == stream.ErrEndOfInput {
			b.Fatal("the pipe ended early")
		}
		if err != nil {
			b.Fatal(err)
		}
		n += len(batch.Events)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)/float64(batches), "rows/batch")
}

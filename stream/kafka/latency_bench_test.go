package kafka

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// BenchmarkKafkaLatency measures the I/O latency floor through Kafka (a
// kfake broker over TCP): from a line's write into the pipe ProduceLines
// reads (as -produce reads stdin) to its event out of the Source, at 1k and
// 10k lines/s, over 6 partitions keyed by customer. The variants: the
// source's MaxWait at its default (50ms) and at sarama's (500ms), and the
// producer's Linger at its default (5ms) and at 1ms. One op is one line;
// run it with -benchtime=5000x. It reports the p50, p99 and max latency.
func BenchmarkKafkaLatency(b *testing.B) {
	for _, v := range []struct {
		maxWait, linger time.Duration
		rates           []int
	}{
		{50 * time.Millisecond, 5 * time.Millisecond, []int{1000, 10000}},
		{500 * time.Millisecond, 5 * time.Millisecond, []int{1000, 10000}},
		{50 * time.Millisecond, time.Millisecond, []int{1000, 10000}},
	} {
		for _, rate := range v.rates {
			b.Run(fmt.Sprintf("maxwait=%v/linger=%v/%d-per-s", v.maxWait, v.linger, rate), func(b *testing.B) {
				benchKafkaLatency(b, rate, v.maxWait, v.linger)
			})
		}
	}
}

func benchKafkaLatency(b *testing.B, rate int, maxWait, linger time.Duration) {
	const topic = "latency"
	_, brokers := newCluster(b, 6, topic)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testConfig(brokers, topic, "latency")
	cfg.BatchSize, cfg.MaxWait = 1024, maxWait
	cfg.Client.Sarama = func(sc *sarama.Config) error {
		err := fastGroup(sc) // quick group join; MaxWait as the variant says
		sc.Consumer.MaxWaitTime = maxWait
		return err
	}
	src := newSource(b, cfg)
	pr, pw := io.Pipe()
	produced := make(chan error, 1)
	go func() {
		_, err := ProduceLines(ctx, brokers, topic, pr, ProducerConfig{Key: CSVColumn(1), Linger: linger})
		produced <- err
	}()
	lines := make([][]byte, b.N+1)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, "%d,%d,7,\"2014-10-01 00:00:00\",0,\"10001\"\n", i, i%200)
	}
	sent := make([]atomic.Int64, b.N+1)
	start := time.Now()
	// A first line, out of the measure: the group is joined and the
	// partitions are being fetched.
	if _, err := pw.Write(lines[b.N]); err != nil {
		b.Fatal(err)
	}
	for got := false; !got; {
		batch, err := src.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got = len(batch.Events) > 0
		_ = batch.Ack(ctx, nil)
	}
	b.ResetTimer()
	wrote := make(chan error, 1)
	go func() {
		every := time.Second / time.Duration(rate)
		t0 := time.Now()
		for i := range b.N {
			if d := time.Until(t0.Add(time.Duration(i) * every)); d > 0 {
				time.Sleep(d)
			}
			sent[i].Store(int64(time.Since(start)))
			if _, err := pw.Write(lines[i]); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	lat := make([]time.Duration, 0, b.N)
	for len(lat) < b.N {
		batch, err := src.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Since(start)
		for _, ev := range batch.Events {
			lat = append(lat, now-time.Duration(sent[eventID(ev)].Load()))
		}
		_ = batch.Ack(ctx, nil)
	}
	b.StopTimer()
	if err := <-wrote; err != nil {
		b.Fatal(err)
	}
	_ = pw.Close()
	if err := <-produced; err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

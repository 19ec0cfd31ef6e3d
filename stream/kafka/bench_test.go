package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// benchTopic fills a fresh six-partition topic with n plays.
func benchTopic(b *testing.B, n int) []string {
	b.Helper()
	_, brokers := newCluster(b, 6, "bench")
	_, csv := plays(n, 10)
	if got := produce(b, brokers, "bench", csv); got != int64(n) {
		b.Fatalf("produced %d of %d", got, n)
	}
	return brokers
}

func benchSourceConfig(brokers []string, batch int) SourceConfig {
	cfg := testConfig(brokers, "bench", fmt.Sprint("bench-", time.Now().UnixNano()))
	cfg.BatchSize = batch
	cfg.StopAtEnd = true
	cfg.CommitInterval = time.Second
	return cfg
}

// BenchmarkSource consumes b.N plays from kfake through the source (group
// join, fetch, decode, batch, acknowledge, commit). Use -benchtime=Nx.
func BenchmarkSource(b *testing.B) {
	brokers := benchTopic(b, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	s, err := NewSource(benchSourceConfig(brokers, 1024))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		bt, err := s.Read(ctx)
		if errors.Is(err, stream.ErrEndOfInput) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n += len(bt.Events)
		_ = bt.Ack(ctx, nil)
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("consumed %d of %d", n, b.N)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSourcePipeline is BenchmarkSource through a stream.Pipeline with
// a discarding sink.
func BenchmarkSourcePipeline(b *testing.B) {
	brokers := benchTopic(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	s, err := NewSource(benchSourceConfig(brokers, 1024))
	if err != nil {
		b.Fatal(err)
	}
	p := stream.New("bench", pipeCfg).From(s).To(stream.Discard)
	if err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := p.Stats().EventsIn; got != int64(b.N) {
		b.Fatalf("consumed %d of %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkProduceLines publishes b.N plays to kfake.
func BenchmarkProduceLines(b *testing.B) {
	_, brokers := newCluster(b, 6, "bench")
	_, csv := plays(b.N, 11)
	b.ReportAllocs()
	b.SetBytes(int64(len(csv) / max(1, b.N)))
	b.ResetTimer()
	n, err := ProduceLines(context.Background(), brokers, "bench", bytes.NewReader(csv), ProducerConfig{Key: CSVColumn(1)})
	if err != nil || n != int64(b.N) {
		b.Fatalf("produced %d of %d: %v", n, b.N, err)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeMessages measures the decode step alone (no broker):
// 1024 messages into one batch per op.
func BenchmarkDecodeMessages(b *testing.B) {
	_, csv := plays(1024, 12)
	lines := bytes.Split(bytes.TrimSpace(csv), []byte("\n"))
	msgs := make([]*sarama.ConsumerMessage, len(lines))
	for i, l := range lines {
		msgs[i] = &sarama.ConsumerMessage{Topic: "t", Offset: int64(i), Value: l}
	}
	dec := gen.PlayDecoder()
	b.ReportAllocs()
	for b.Loop() {
		bt := decodeMessages(dec, msgs)
		if len(bt.Events) != len(msgs) {
			b.Fatal(bt.Rejects)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "events/s")
}

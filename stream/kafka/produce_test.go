package kafka

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/stream"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestCSVColumn(t *testing.T) {
	for _, tc := range []struct{ line, key string }{
		{`1,42,7,"2014-10-01 00:00:00",1,"10001"`, "42"},
		{`1,"42",7`, "42"},
		{`1,42`, "42"},
		{`1,`, ""},
		{`1`, "<nil>"},
		{``, "<nil>"},
	} {
		got := csvColumn([]byte(tc.line), 1)
		s := string(got)
		if got == nil {
			s = "<nil>"
		}
		if s != tc.key {
			t.Errorf("CSVColumn(1)(%q) = %q, want %q", tc.line, s, tc.key)
		}
	}
}

// TestProduceLinesProgress: every line is acknowledged, progress is
// reported, CRLF and blank lines are handled, and the messages are keyed.
func TestProduceLinesProgress(t *testing.T) {
	const topic = "progress"
	c, brokers := newCluster(t, 4, topic)
	_, csv := plays(2500, 8)
	csv = bytes.ReplaceAll(csv, []byte("\n"), []byte("\r\n"))
	csv = append(csv, "\n\n"...)
	var reports []int64
	n, err := ProduceLines(context.Background(), brokers, topic, bytes.NewReader(csv),
		ProducerConfig{Key: CSVColumn(1), ProgressEvery: 1000, Progress: func(d int64) { reports = append(reports, d) }})
	if err != nil || n != 2500 {
		t.Fatalf("produced %d, %v", n, err)
	}
	if len(reports) != 3 || reports[0] != 1000 || reports[1] != 2000 || reports[2] != 2500 {
		t.Fatalf("progress reports %v", reports)
	}
	var total int64
	for p := int32(0); p < 4; p++ {
		total += c.PartitionInfo(topic, p).HighWatermark
	}
	if total != 2500 {
		t.Fatalf("%d messages in the topic", total)
	}
	// The values carry no \r.
	cfg := testConfig(brokers, topic, "crlf")
	cfg.StopAtEnd = true
	sink := stream.NewCollectSink()
	if err := stream.New("crlf", pipeCfg).From(newSource(t, cfg)).To(sink).Run(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if sink.Len() != 2500 {
		t.Fatalf("consumed %d", sink.Len())
	}
	for _, ev := range sink.Events() {
		if z := ev.Get("listening_zip_code").Text(); strings.ContainsAny(z, "\r\"") {
			t.Fatalf("zip %q", z)
		}
	}
}

func TestProduceLinesErrors(t *testing.T) {
	_, err := ProduceFile(context.Background(), []string{"127.0.0.1:1"}, "t", "/nonexistent/plays.csv", ProducerConfig{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/plays.csv") {
		t.Fatalf("missing file: %v", err)
	}
	_, err = ProduceLines(context.Background(), []string{"127.0.0.1:1"}, "t", strings.NewReader("1,2\n"),
		ProducerConfig{Key: CSVColumn(1), Client: ClientConfig{Sarama: func(sc *sarama.Config) error {
			sc.Net.DialTimeout = 200 * time.Millisecond
			sc.Metadata.Retry.Max = 0
			return nil
		}}})
	if err == nil {
		t.Fatal("no error without a broker")
	}
	boom := errors.New("bad option")
	_, err = ProduceLines(context.Background(), []string{"x:1"}, "t", strings.NewReader(""),
		ProducerConfig{Key: CSVColumn(1), Client: ClientConfig{Sarama: func(*sarama.Config) error { return boom }}})
	if !errors.Is(err, boom) {
		t.Fatalf("mutator error: %v", err)
	}
}

// TestSASLPlain: SASL credentials reach the broker through ClientConfig.
func TestSASLPlain(t *testing.T) {
	const topic = "secure"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "alice", "s3cret"), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	_, csv := plays(100, 9)
	good := ClientConfig{SASL: &SASL{User: "alice", Password: "s3cret"}, Sarama: fastGroup}
	if n, err := ProduceLines(context.Background(), brokers, topic, bytes.NewReader(csv), ProducerConfig{Key: CSVColumn(1), Client: good}); err != nil || n != 100 {
		t.Fatalf("produce with SASL: %d, %v", n, err)
	}
	cfg := testConfig(brokers, topic, "sasl")
	cfg.StopAtEnd = true
	cfg.Client = good
	sink := stream.NewCollectSink()
	if err := stream.New("sasl", pipeCfg).From(newSource(t, cfg)).To(sink).Run(testCtx(t, 20*time.Second)); err != nil || sink.Len() != 100 {
		t.Fatalf("consume with SASL: %d events, %v", sink.Len(), err)
	}
	bad := cfg
	bad.Client = ClientConfig{SASL: &SASL{User: "alice", Password: "wrong"}, Sarama: func(sc *sarama.Config) error {
		sc.Metadata.Retry.Max = 0
		return nil
	}}
	src := newSource(t, bad)
	if err := src.Connect(context.Background()); err == nil {
		t.Fatal("connected with a wrong password")
	}
}

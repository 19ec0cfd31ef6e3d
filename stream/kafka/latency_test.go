package kafka

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// The source's fetches wait at most MaxWait at the broker (50ms by
// default, not sarama's 500ms) and end on the first byte.
func TestSourceMaxWait(t *testing.T) {
	base := SourceConfig{Brokers: []string{"x:1"}, Topic: "t", Group: "g", Decoder: gen.PlayDecoder()}
	for _, tc := range []struct {
		set, want time.Duration
		err       string
	}{
		{0, 50 * time.Millisecond, ""},
		{10 * time.Millisecond, 10 * time.Millisecond, ""},
		{time.Second, time.Second, ""},
		{500 * time.Microsecond, 0, "MaxWait 500µs: want at least 1ms"},
		{-time.Second, 50 * time.Millisecond, ""},
	} {
		cfg := base
		cfg.MaxWait = tc.set
		s, err := NewSource(cfg)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("MaxWait %v: error %v, want %q", tc.set, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("MaxWait %v: %v", tc.set, err)
		}
		if got := s.sc.Consumer.MaxWaitTime; got != tc.want || s.sc.Consumer.Fetch.Min != 1 {
			t.Errorf("MaxWait %v: sarama MaxWaitTime %v, Fetch.Min %d; want %v and 1", tc.set, got, s.sc.Consumer.Fetch.Min, tc.want)
		}
	}
	// The sarama hook still has the last word.
	cfg := base
	cfg.Client.Sarama = func(sc *sarama.Config) error { sc.Consumer.MaxWaitTime = 250 * time.Millisecond; return nil }
	s, err := NewSource(cfg)
	if err != nil || s.sc.Consumer.MaxWaitTime != 250*time.Millisecond {
		t.Fatalf("hook: %v %v", err, s.sc.Consumer.MaxWaitTime)
	}
	// The producer's Linger is its flush frequency.
	for _, c := range []struct{ set, want time.Duration }{{0, 5 * time.Millisecond}, {time.Millisecond, time.Millisecond}} {
		pc := ProducerConfig{Linger: c.set}
		pc.setDefaults()
		sc, err := pc.saramaConfig()
		if err != nil || sc.Producer.Flush.Frequency != c.want {
			t.Errorf("Linger %v: %v %v", c.set, err, sc.Producer.Flush.Frequency)
		}
	}
}

// ProduceLines sends each line as soon as it reads it: lines written to a
// pipe that stays open reach the consumer one by one (they used to wait
// for 1 MiB of input or its end).
func TestProduceLinesFromAPipeSendsAtOnce(t *testing.T) {
	const topic = "live"
	_, brokers := newCluster(t, 2, topic)
	ctx := testCtx(t, 30*time.Second)
	pr, pw := io.Pipe()
	produced := make(chan error, 1)
	go func() {
		_, err := ProduceLines(ctx, brokers, topic, pr, ProducerConfig{Key: CSVColumn(1)})
		produced <- err
	}()
	s := newSource(t, testConfig(brokers, topic, "live"))
	for i := range 3 {
		line := fmt.Sprintf("%d,%d,7,\"2014-10-01 00:00:0%d\",0,\"10001\"\n", i, 100+i, i)
		if i == 1 { // a line in two writes
			if _, err := io.WriteString(pw, line[:5]); err != nil {
				t.Fatal(err)
			}
			line = line[5:]
		}
		if _, err := io.WriteString(pw, line); err != nil {
			t.Fatal(err)
		}
		b, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("line %d not consumed while the pipe is open: %v", i, err)
		}
		if len(b.Events) != 1 || eventID(b.Events[0]) != int64(i) || len(b.Rejects) != 0 {
			t.Fatalf("line %d: batch %v %v", i, b.Events, b.Rejects)
		}
		_ = b.Ack(ctx, nil)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
}

package kafka

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/twmb/franz-go/pkg/kfake"
)

// newCluster starts a one-broker kfake cluster serving topic with n
// partitions over TCP; it is closed when the test ends.
func newCluster(t testing.TB, partitions int32, topics ...string) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// fastGroup shortens sarama's group timings so rebalances take milliseconds.
func fastGroup(sc *sarama.Config) error {
	sc.Consumer.Group.Session.Timeout = 3 * time.Second
	sc.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	sc.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	sc.Consumer.Group.Rebalance.Retry.Backoff = 50 * time.Millisecond
	sc.Consumer.MaxWaitTime = 100 * time.Millisecond
	sc.Consumer.Retry.Backoff = 50 * time.Millisecond
	sc.Metadata.Retry.Backoff = 50 * time.Millisecond
	sc.Net.DialTimeout = 2 * time.Second
	return nil
}

func testConfig(brokers []string, topic, group string) SourceConfig {
	return SourceConfig{
		Brokers: brokers, Topic: topic, Group: group, BatchSize: 100, Decoder: gen.PlayDecoder(),
		CommitInterval: 100 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
		Client: ClientConfig{Sarama: fastGroup},
	}
}

// plays returns n generated plays as CSV lines.
func plays(n int, seed uint64) ([]gen.Play, []byte) {
	d := gen.Generate(gen.Config{Seed: seed, Plays: n, Customers: 200})
	var buf bytes.Buffer
	if err := gen.WritePlays(&buf, d.Plays); err != nil {
		panic(err)
	}
	return d.Plays, buf.Bytes()
}

func produce(t testing.TB, brokers []string, topic string, csv []byte) int64 {
	t.Helper()
	n, err := ProduceLines(context.Background(), brokers, topic, bytes.NewReader(csv), ProducerConfig{Key: CSVColumn(1)})
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	return n
}

// testCtx is a context bounded well within the test timeout.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newSource(t testing.TB, cfg SourceConfig) *Source {
	t.Helper()
	s, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// eventID returns the event_id field of a play event.
func eventID(ev stream.Event) int64 { return ev.Get("event_id").Int() }

// checkOrder fails if the events of one partition are out of offset order.
func checkOrder(t testing.TB, evs []stream.Event) {
	t.Helper()
	last := map[int32]int64{}
	for _, ev := range evs {
		if prev, ok := last[ev.Pos.Partition]; ok && ev.Pos.Offset <= prev {
			t.Fatalf("partition %d: offset %d after %d", ev.Pos.Partition, ev.Pos.Offset, prev)
		}
		last[ev.Pos.Partition] = ev.Pos.Offset
	}
}

// reader drains a source in the background, acknowledging every batch, and
// records what it read.
type reader struct {
	mu     sync.Mutex
	events []stream.Event
	notify chan struct{}
	done   chan error
}

func startReader(ctx context.Context, s *Source, notify chan struct{}) *reader {
	r := &reader{notify: notify, done: make(chan error, 1)}
	go func() {
		for {
			b, err := s.Read(ctx)
			if err != nil {
				r.done <- err
				return
			}
			r.mu.Lock()
			r.events = append(r.events, b.Events...)
			r.mu.Unlock()
			_ = b.Ack(ctx, nil)
			select {
			case r.notify <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

func (r *reader) snapshot() []stream.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stream.Event(nil), r.events...)
}

func uniqueIDs(evs ...[]stream.Event) map[int64]bool {
	ids := map[int64]bool{}
	for _, e := range evs {
		for _, ev := range e {
			ids[eventID(ev)] = true
		}
	}
	return ids
}

// waitUnique waits until the readers together saw n distinct event ids;
// notify is the channel the readers share.
func waitUnique(ctx context.Context, t testing.TB, n int, notify <-chan struct{}, rs ...*reader) {
	t.Helper()
	count := func() int {
		var all [][]stream.Event
		for _, r := range rs {
			all = append(all, r.snapshot())
		}
		return len(uniqueIDs(all...))
	}
	for count() < n {
		select {
		case <-notify:
		case <-ctx.Done():
			t.Fatalf("waiting for %d distinct events: have %d: %v", n, count(), ctx.Err())
		}
	}
}

package kafka

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/twmb/franz-go/pkg/kfake"
)

// warnSignal is a slog handler that signals every warning on a channel.
type warnSignal struct {
	ch chan struct{}
	h  slog.Handler
}

func (w warnSignal) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnSignal) Handle(ctx context.Context, r slog.Record) error {
	if w.h != nil {
		_ = w.h.Handle(ctx, r)
	}
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return nil
}
func (w warnSignal) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnSignal) WithGroup(string) slog.Handler      { return w }

// TestBrokerRestart: the broker goes away while a pipeline consumes and
// comes back on the same port with its persisted log and group offsets;
// the pipeline carries on and no event is lost (at-least-once: some may
// come twice).
func TestBrokerRestart(t *testing.T) {
	const topic, group = "restart", "survivors"
	dir := t.TempDir()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(dir), kfake.GroupMinSessionTimeout(500 * time.Millisecond)}
	c1, err := kfake.NewCluster(append(opts, kfake.SeedTopics(3, topic))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	brokers := c1.ListenAddrs()
	_, portStr, _ := net.SplitHostPort(brokers[0])
	port, _ := strconv.Atoi(portStr)

	ps, csv := plays(4000, 7)
	half := indexLine(csv, len(csv)/2)
	first := produce(t, brokers, topic, csv[:half])

	ctx := testCtx(t, 30*time.Second)
	warned := make(chan struct{}, 1)
	cfg := testConfig(brokers, topic, group)
	cfg.Logger = slog.New(warnSignal{ch: warned})
	src := newSource(t, cfg)
	sink := stream.NewCollectSink()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- stream.New("restart", pipeCfg).From(src).To(sink).Run(runCtx) }()
	if err := sink.WaitFor(ctx, int(first)); err != nil {
		t.Fatalf("before the outage: %d of %d events: %v", sink.Len(), first, err)
	}

	c1.Close()
	select { // the consumer noticed the outage
	case <-warned:
	case <-ctx.Done():
		t.Fatal("no error logged while the broker was down")
	}
	// The outage itself: the broker stays down a while longer (this is the
	// scenario, not a wait for a condition).
	time.Sleep(2 * time.Second)
	c2, err := kfake.NewCluster(append(opts, kfake.Ports(port))...)
	if err != nil {
		t.Fatalf("restart on port %d: %v", port, err)
	}
	defer c2.Close()
	if hw := c2.PartitionInfo(topic, 0); hw == nil {
		t.Fatal("topic not restored from the data directory")
	}
	produce(t, brokers, topic, csv[half:])
	for {
		evs := sink.Events()
		ids := uniqueIDs(evs)
		if len(ids) == len(ps) {
			break
		}
		if err := sink.WaitFor(ctx, len(evs)+1); err != nil {
			t.Fatalf("after the restart: %d of %d distinct events: %v", len(ids), len(ps), err)
		}
	}
	stop()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	st := src.Stats()
	if st.Errors == 0 {
		t.Fatalf("stats %+v: the outage left no trace", st)
	}
	t.Logf("%d events for %d plays (%d redelivered), %d rebalances, %d errors", sink.Len(), len(ps), sink.Len()-len(ps), st.Rebalances, st.Errors)
}

// indexLine returns the index just past the first newline at or after i.
func indexLine(b []byte, i int) int {
	for i < len(b) && b[i] != '\n' {
		i++
	}
	return min(i+1, len(b))
}

package window_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// probe wraps an operator and reports, after each call, how many results
// it emitted, so the test knows the runner got that far.
type probe struct {
	stream.Operator
	calls chan int
}

func (p *probe) Start(ctx context.Context, env stream.Env) error {
	if s, ok := p.Operator.(stream.Starter); ok {
		return s.Start(ctx, env)
	}
	return nil
}

func (p *probe) Process(ctx context.Context, in []stream.Event, out *stream.Emitter) error {
	n := len(out.Events())
	err := p.Operator.Process(ctx, in, out)
	p.calls <- len(out.Events()) - n
	return err
}

func (p *probe) Advance(ctx context.Context, wm int64, out *stream.Emitter) error {
	n := len(out.Events())
	err := p.Operator.Advance(ctx, wm, out)
	p.calls <- len(out.Events()) - n
	return err
}

func wait(ctx context.Context, t *testing.T, c chan int) int {
	t.Helper()
	select {
	case n := <-c:
		return n
	case <-ctx.Done():
		t.Fatal("timed out waiting for the operator")
		return 0
	}
}

// Two sources: one goes quiet. Its watermark holds the pipeline back, so
// no window fires, until the idle timeout (processing time, on a manual
// clock) excludes it; then the window fires.
func TestIdlePartitionStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clk := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	busy, quiet := stream.NewChanSource("busy"), stream.NewChanSource("quiet")
	op := must(window.NewTumbling(window.TumblingConfig{WindowConfig: winCfg(), Size: time.Hour}))
	pr := &probe{Operator: op, calls: make(chan int, 64)}
	sink := stream.NewCollectSink()
	// MaxAhead -1: single events and a 2h jump move the watermark at once
	// (no outlier guard).
	p := stream.New("idle", stream.Config{IdleTimeout: time.Minute, TickInterval: time.Second, Clock: clk, MaxAhead: -1}).
		From(busy).From(quiet).Via(pr).To(sink)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	quiet.C <- stream.Batch{Events: playsAt(2, 1, 0)} // quiet's watermark: 12:00
	wait(ctx, t, pr.calls)                            // Process
	wait(ctx, t, pr.calls)                            // Advance to 12:00
	busy.C <- stream.Batch{Events: playsAt(1, 1, 10*time.Minute, 2*time.Hour)}
	if n := wait(ctx, t, pr.calls); n != 0 {
		t.Fatalf("fired %d windows while the quiet source holds the watermark", n)
	}
	if wm := p.Stats().Watermark; wm != at(0).UnixNano() {
		t.Fatalf("watermark %v, want 12:00 (held by the quiet source)", time.Unix(0, wm).UTC())
	}
	// Two minutes later (processing time) busy produces again; quiet is
	// now idle and no longer holds the watermark back.
	clk.Advance(2 * time.Minute)
	busy.C <- stream.Batch{Events: playsAt(1, 2, 2*time.Hour+time.Minute)} // a new event id
	if n := wait(ctx, t, pr.calls); n != 0 {                               // Process
		t.Fatalf("Process fired %d windows", n)
	}
	if n := wait(ctx, t, pr.calls); n != 2 { // Advance to 14:01
		t.Fatalf("after the idle timeout fired %d windows, want 2 (one per customer)", n)
	}
	if err := sink.WaitFor(ctx, 2); err != nil {
		t.Fatal(err)
	}
	close(busy.C)
	close(quiet.C)
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	evs := sink.Events()
	if len(evs) != 3 || evs[2].Window.Count != 2 || evs[0].Window.Key != "1" || evs[1].Window.Key != "2" || evs[2].Window.Start != at(2*time.Hour).UnixNano() {
		t.Fatalf("results %+v", evs)
	}
}

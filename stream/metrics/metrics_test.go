package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

var t0 = time.Date(2014, 10, 1, 10, 0, 0, 0, time.UTC)

func events(n int, from time.Time) []stream.Event {
	evs := make([]stream.Event, n)
	for i := range evs {
		evs[i] = stream.Event{Key: "k", Time: from.Add(time.Duration(i) * time.Second).UnixNano(),
			Pos: stream.Position{Source: "s", Partition: -1, Offset: int64(i)}}
	}
	return evs
}

func TestPipelineMetrics(t *testing.T) {
	clock := stream.NewManualClock(t0.Add(time.Hour))
	src := stream.NewChanSource("plays")
	sink := stream.NewCollectSink()
	p := stream.New("musicstream", stream.Config{OutOfOrderness: 2 * time.Second, Clock: clock, IdleTimeout: -1})
	reg := prometheus.NewRegistry()
	m, err := New(reg, p, Config{Clock: clock,
		Firings:     func() map[string]int64 { return map[string]int64{"interest": 3, "sms_offer": 1} },
		RuleErrors:  func() map[string]int64 { return map[string]int64{"interest": 0, "sms_offer": 2} },
		RedisErrors: func() map[string]int64 { return map[string]int64{"targets": 4} },
		Counters:    func() map[string]int64 { return map[string]int64{"duplicates": 5} },
		RedisUp:     func() map[string]bool { return map[string]bool{"lookups": false} },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test reads the sink's counters once the decorated sink's Write
	// has returned (it counts after the inner sink's), not when the inner
	// sink holds the events.
	written := make(chan int, 1)
	p.From(src).To(&afterWrite{Sink: m.Sink("router", sink), written: written})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	src.C <- stream.Batch{Events: events(11, t0)}
	select {
	case <-written:
	case <-ctx.Done():
		t.Fatal("the sink was not written")
	}
	m.RedisHealth("customer", true)
	m.RedisHealth("customer", true) // still degraded: one error
	m.RedisHealth("track", false)

	want := `
# HELP rulestream_events_in_total Events read from the sources.
# TYPE rulestream_events_in_total counter
rulestream_events_in_total{pipeline="musicstream"} 11
# HELP rulestream_watermark_lag_seconds Newest event time seen minus the watermark.
# TYPE rulestream_watermark_lag_seconds gauge
rulestream_watermark_lag_seconds{pipeline="musicstream"} 2
# HELP rulestream_watermark_delay_seconds Processing time minus the watermark.
# TYPE rulestream_watermark_delay_seconds gauge
rulestream_watermark_delay_seconds{pipeline="musicstream"} 3592
# HELP rulestream_rule_firings_total Emissions per rule.
# TYPE rulestream_rule_firings_total counter
rulestream_rule_firings_total{pipeline="musicstream",rule="interest"} 3
rulestream_rule_firings_total{pipeline="musicstream",rule="sms_offer"} 1
# HELP rulestream_rule_errors_total Runtime errors per rule.
# TYPE rulestream_rule_errors_total counter
rulestream_rule_errors_total{pipeline="musicstream",rule="interest"} 0
rulestream_rule_errors_total{pipeline="musicstream",rule="sms_offer"} 2
# HELP rulestream_redis_errors_total Redis errors per component.
# TYPE rulestream_redis_errors_total counter
rulestream_redis_errors_total{component="customer",pipeline="musicstream"} 1
rulestream_redis_errors_total{component="lookups",pipeline="musicstream"} 1
rulestream_redis_errors_total{component="targets",pipeline="musicstream"} 4
# HELP rulestream_redis_up 1 while the component reaches Redis, 0 while degraded.
# TYPE rulestream_redis_up gauge
rulestream_redis_up{component="customer",pipeline="musicstream"} 0
rulestream_redis_up{component="lookups",pipeline="musicstream"} 0
rulestream_redis_up{component="track",pipeline="musicstream"} 1
# HELP rulestream_scenario_total Scenario counters by name.
# TYPE rulestream_scenario_total counter
rulestream_scenario_total{name="duplicates",pipeline="musicstream"} 5
# HELP rulestream_sink_events_total Events handed to the sink's Write.
# TYPE rulestream_sink_events_total counter
rulestream_sink_events_total{pipeline="musicstream",sink="router"} 11
`
	names := []string{"rulestream_events_in_total", "rulestream_watermark_lag_seconds", "rulestream_watermark_delay_seconds",
		"rulestream_rule_firings_total", "rulestream_rule_errors_total", "rulestream_redis_errors_total", "rulestream_redis_up",
		"rulestream_scenario_total", "rulestream_sink_events_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "rulestream_sink_seconds"); err != nil || n != 2 {
		t.Errorf("sink_seconds series: %d %v, want 2 (write, flush)", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	close(src.C)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// After the end of input the watermark is at its maximum: no lag series.
	if n, _ := testutil.GatherAndCount(reg, "rulestream_watermark_lag_seconds"); n != 0 {
		t.Errorf("lag reported at the final watermark")
	}
}

// afterWrite tells, once Sink's Write returned, how many events it wrote,
// and forwards Flush.
type afterWrite struct {
	stream.Sink
	written chan int
}

func (a *afterWrite) Write(ctx context.Context, evs []stream.Event) error {
	err := a.Sink.Write(ctx, evs)
	select {
	case a.written <- len(evs):
	default:
	}
	return err
}

func (a *afterWrite) Flush(ctx context.Context) error { return a.Sink.(stream.Flusher).Flush(ctx) }

func TestSinkDecoratorCountsFailures(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := stream.New("p", stream.Config{})
	m, err := New(reg, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	s := m.Sink("broken", stream.SinkFunc(func(context.Context, []stream.Event) error { return boom }))
	if err := s.Write(context.Background(), events(2, t0)); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want boom", err)
	}
	if err := s.(stream.Flusher).Flush(context.Background()); err != nil {
		t.Fatalf("Flush of a non-flusher: %v", err)
	}
	if got := testutil.ToFloat64(m.sinkErr.WithLabelValues("broken", "write")); got != 1 {
		t.Errorf("write errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.sinkEvts.WithLabelValues("broken")); got != 0 {
		t.Errorf("events %v, want 0", got)
	}
	if _, err := New(reg, p, Config{}); err == nil {
		t.Error("registering the same pipeline twice must fail")
	}
	if _, err := New(nil, p, Config{}); err == nil {
		t.Error("nil registerer accepted")
	}
}

func TestOperatorDecorator(t *testing.T) {
	reg := prometheus.NewRegistry()
	p := stream.New("ops", stream.Config{OutOfOrderness: time.Second})
	m, err := New(reg, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	evens := m.Operator("evens", stream.Filter(func(ev *stream.Event) bool { return ev.Pos.Offset%2 == 0 }))
	all := m.Operator("all", stream.Map(func(*stream.Event) bool { return true }))
	sink := stream.NewCollectSink()
	p.From(stream.NewSliceSource("s", events(10, t0), 3)).Via(evens, all).To(sink)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP rulestream_operator_events_in_total Events handed to the operator.
# TYPE rulestream_operator_events_in_total counter
rulestream_operator_events_in_total{operator="all",pipeline="ops"} 5
rulestream_operator_events_in_total{operator="evens",pipeline="ops"} 10
# HELP rulestream_operator_events_out_total Events the operator emitted.
# TYPE rulestream_operator_events_out_total counter
rulestream_operator_events_out_total{operator="all",pipeline="ops"} 5
rulestream_operator_events_out_total{operator="evens",pipeline="ops"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rulestream_operator_events_in_total", "rulestream_operator_events_out_total"); err != nil {
		t.Error(err)
	}
	if sink.Len() != 5 {
		t.Errorf("sink got %d events", sink.Len())
	}
	if n, _ := testutil.GatherAndCount(reg, "rulestream_operator_seconds"); n != 4 {
		t.Errorf("operator_seconds series: %d, want 4", n)
	}
}

func TestOperatorDecoratorForwardsState(t *testing.T) {
	m, err := New(prometheus.NewRegistry(), stream.New("st", stream.Config{}), Config{})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := window.NewDedup(window.DedupConfig{Field: "id"})
	if err != nil {
		t.Fatal(err)
	}
	op := m.Operator("dedup", inner)
	schema := stream.MustSchema("e", stream.Field{Name: "id", Kind: stream.KindInt})
	evs := events(3, t0)
	for i := range evs {
		evs[i].Schema, evs[i].Fields = schema, []stream.Value{stream.Int(1)}
	}
	ctx := context.Background()
	if err := op.(stream.Starter).Start(ctx, stream.Env{Clock: stream.SystemClock{}}); err != nil {
		t.Fatal(err)
	}
	var em stream.Emitter
	if err := op.Process(ctx, evs, &em); err != nil {
		t.Fatal(err)
	}
	snap, err := op.(stream.Snapshotter).Snapshot()
	if err != nil || len(snap) == 0 {
		t.Fatalf("snapshot %d bytes, %v", len(snap), err)
	}
	if err := op.(stream.Snapshotter).Restore(snap); err != nil {
		t.Fatal(err)
	}
	if len(em.Events()) != 1 {
		t.Errorf("dedup through the decorator emitted %d, want 1", len(em.Events()))
	}
}

// probeOp records the Release and Shed calls it gets.
type probeOp struct {
	stream.Operator
	released bool
	shed     float64
}

func (p *probeOp) Release()          { p.released = true }
func (p *probeOp) Shed(frac float64) { p.shed = frac }

// The decorator forwards Release (a revoked partition) and Shed (the
// memory budget): wrapping an operator does not hide them.
func TestOperatorDecoratorForwardsReleaseAndShed(t *testing.T) {
	m, err := New(prometheus.NewRegistry(), stream.New("rs", stream.Config{}), Config{})
	if err != nil {
		t.Fatal(err)
	}
	inner := &probeOp{Operator: stream.Map(func(*stream.Event) bool { return true })}
	op := m.Operator("probe", inner)
	op.(stream.Releaser).Release()
	op.(stream.Shedder).Shed(0.25)
	if !inner.released || inner.shed != 0.25 {
		t.Fatalf("released %v, shed %v", inner.released, inner.shed)
	}
}

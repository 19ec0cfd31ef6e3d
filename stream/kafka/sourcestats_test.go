package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Each partition of a topic is a source of its own in the pipeline's
// source stats ("topic/partition"), as the silence monitor judges them.
func TestPartitionsAreSources(t *testing.T) {
	const topic, group = "plays", "stats"
	_, brokers := newCluster(t, 3, topic)
	_, csv := plays(900, 3)
	n := produce(t, brokers, topic, csv)
	ctx := testCtx(t, 30*time.Second)
	cfg := testConfig(brokers, topic, group)
	cfg.StopAtEnd = true
	src := newSource(t, cfg)
	pc := pipeCfg
	pc.CountSources = true
	p := stream.New("kafka-stats", pc).From(src).To(stream.Discard)
	if err := p.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	stats := p.SourceStats()
	names := map[string]bool{}
	var total int64
	for _, st := range stats {
		names[st.Name] = true
		total += st.Events
		if st.Events == 0 || st.Registered.IsZero() {
			t.Errorf("source %+v: want events and a registration time", st)
		}
	}
	for part := range 3 {
		if name := fmt.Sprintf("%s/%d", topic, part); !names[name] {
			t.Errorf("no source %s among %v", name, stats)
		}
	}
	if len(stats) != 3 || total != n {
		t.Fatalf("%d sources with %d events, want 3 with %d: %+v", len(stats), total, n, stats)
	}
}

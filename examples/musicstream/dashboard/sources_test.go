package dashboard

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

func TestSourcesPanel(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	cfg := Config{Redis: rdb, Prefix: prefix, Pipeline: stream.New("p", stream.Config{})}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ss := d.State(ctx, t0, RangeDay).Sources; ss.Wired || ss.Sources == nil || len(ss.Sources) != 0 {
		t.Errorf("without Config.Sources: %+v", ss)
	}
	statuses := []metrics.SourceStatus{
		{Source: "logs/a.csv", State: metrics.SourceOK, Rate: 10, Expected: 9.5, Basis: "history", Since: t0.Add(-time.Hour), Events: 36000, LastEvent: t0},
		{Source: "logs/b.csv", State: metrics.SourceSilent, Rate: 0, Expected: 10, Basis: "recent", Since: t0.Add(-6 * time.Minute), Events: 100, LastEvent: t0.Add(-6 * time.Minute)},
		{Source: "logs/c.csv", State: metrics.SourceNeverStarted, Since: t0.Add(-10 * time.Minute)},
		{Source: "plays/3", State: metrics.SourceStarting, Rate: 2, Since: t0},
	}
	cfg.Sources = func() []metrics.SourceStatus { return statuses }
	if d, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ss := d.State(ctx, t0, RangeDay).Sources
	if !ss.Wired || len(ss.Sources) != 4 || ss.Silent != 2 {
		t.Fatalf("sources %+v", ss)
	}
	b, _ := json.Marshal(ss)
	for _, want := range []string{`"wired":true`, `"source":"logs/b.csv","state":"silent"`, `"expected":10,"basis":"recent"`, `"last_event":"2026-01-01T12:00:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	cfg.Sources = func() []metrics.SourceStatus { return nil }
	d, _ = New(cfg)
	if ss := d.State(ctx, t0, RangeDay).Sources; !ss.Wired || ss.Sources == nil {
		t.Errorf("a monitor without sources yet: %+v", ss)
	}
}

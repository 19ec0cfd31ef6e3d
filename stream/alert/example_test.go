package alert_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// chanSink hands each alert to a channel: a stand-in for
// alert.NewRedisStream and alert.NewWebhook.
type chanSink chan metrics.Alert

func (c chanSink) Name() string { return "chan" }
func (c chanSink) Send(ctx context.Context, a metrics.Alert) error {
	select {
	case c <- a:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A monitor hands each alert to an outbox, which delivers it: a file that
// produced 10 events/s for five minutes and then nothing is silent a
// minute later (the span), named by the alert and by Check.
func Example() {
	var events int64 // what the pipeline counted of the file
	stats := func() []stream.SourceStat { return []stream.SourceStat{{Name: "/data/host1.csv", Events: events}} }
	delivered := make(chanSink)
	box, err := alert.NewOutbox(alert.OutboxConfig{}, delivered)
	if err != nil {
		panic(err)
	}
	mon, err := metrics.NewSourceMonitor(stats, metrics.SourceConfig{Span: time.Minute, OnAlert: box.Add})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go box.Run(ctx)

	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for range 50 { // sampled every 6s (Every: a tenth of the span), as Run does
		now = now.Add(6 * time.Second)
		events += 60
		mon.Observe(ctx, now)
	}
	for range 10 {
		now = now.Add(6 * time.Second)
		mon.Observe(ctx, now)
	}
	a := <-delivered
	fmt.Println(strings.Join(alert.Fields(a), " "))
	fmt.Println(mon.Check(now))
	// Output:
	// source /data/host1.csv kind silence observed 0 expected 10 since 2026-03-02T12:05:00.000Z at 2026-03-02T12:06:00.000Z
	// 1 silent source(s): /data/host1.csv (0 events/s over the last 1m0s, expected 10; silent since 2026-03-02T12:05:00Z)
}

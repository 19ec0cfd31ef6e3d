package metrics_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/metrics"
)

// A source producing 10 events/s for ten minutes, then nothing: a minute
// later the check reports it.
func ExampleSilence() {
	var produced int64
	s, _ := metrics.NewSilence(func() map[string]int64 { return map[string]int64{"plays": produced} }, metrics.SilenceConfig{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ { // ten minutes, sampled every 10s
		now = now.Add(10 * time.Second)
		produced += 100
		s.Observe(now)
	}
	fmt.Println("producing:", s.Check(now))
	for i := 0; i < 6; i++ {
		now = now.Add(10 * time.Second)
		s.Observe(now)
	}
	fmt.Println("silent:", s.Check(now) != nil)
	// Output:
	// producing: <nil>
	// silent: true
}

// Two partitions: one produces 5 events/s, the other nothing. After the
// span (the grace at start-up) the second is never_started, not silent.
func ExampleSourceMonitor() {
	var produced int64
	stats := func() []stream.SourceStat {
		return []stream.SourceStat{{Name: "plays/0", Events: produced}, {Name: "plays/1"}}
	}
	mon, err := metrics.NewSourceMonitor(stats, metrics.SourceConfig{Span: time.Minute,
		OnAlert: func(a metrics.Alert) { fmt.Println("alert:", a.Kind, a.Source) }})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for range 20 { // Every: a tenth of the span
		mon.Observe(context.Background(), now)
		now = now.Add(6 * time.Second)
		produced += 30
	}
	for _, st := range mon.Status() {
		fmt.Printf("%s %s %.0f/s\n", st.Source, st.State, st.Rate)
	}
	fmt.Println("check:", mon.Check(now))
	// Output:
	// alert: never_started plays/1
	// plays/0 ok 5/s
	// plays/1 never_started 0/s
	// check: <nil>
}

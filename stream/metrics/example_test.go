package metrics_test

import (
	"fmt"
	"time"

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

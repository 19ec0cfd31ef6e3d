package analytics_test

import (
	"fmt"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/analytics"
	"github.com/rulestream/rulestream/stream"
)

// The buckets of the keys, and the partition names of the partials.
func ExampleHour() {
	t := time.Date(2014, 10, 1, 17, 42, 0, 0, time.UTC)
	fmt.Println("stats:plays:hour:" + analytics.Hour(t))
	fmt.Println("stats:zip:day:" + analytics.Day(t))
	fmt.Println("stats:part:" + analytics.PartitionName(stream.PartitionID{Source: 0, Partition: 3}) + ":plays:hour:" + analytics.Hour(t))
	start, _ := analytics.ParseBucket("2014100117")
	fmt.Println(start)
	// Output:
	// stats:plays:hour:2014100117
	// stats:zip:day:20141001
	// stats:part:0.3:plays:hour:2014100117
	// 2014-10-01 17:00:00 +0000 UTC
}

package kafka_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Publish plays to a topic keyed by customer, then read them back through a
// pipeline until the consumer has caught up; the malformed line reaches the
// dead-letter sink with its topic/partition/offset.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "plays"))
	if err != nil {
		panic(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	csv := `1,42,7,"2014-10-01 00:00:00",1,"10001"
2,43,8,"2014-10-01 00:00:05",0,"10002"
3,42,9,"2014-10-01 00:01:00",1,"10001"
4,42,not-a-track
`
	n, err := kafka.ProduceLines(ctx, brokers, "plays", strings.NewReader(csv), kafka.ProducerConfig{Key: kafka.CSVColumn(1)})
	if err != nil {
		panic(err)
	}
	fmt.Println("produced", n)

	src, err := kafka.NewSource(kafka.SourceConfig{Brokers: brokers, Topic: "plays", Group: "example", StopAtEnd: true,
		Decoder: gen.PlayDecoder()})
	if err != nil {
		panic(err)
	}
	good, dead := stream.NewCollectSink(), stream.NewCollectSink()
	p := stream.New("example", stream.Config{OutOfOrderness: time.Hour}).From(src).To(good).DeadLetter(dead)
	if err := p.Run(ctx); err != nil {
		panic(err)
	}
	evs := good.Events()
	slices.SortFunc(evs, func(a, b stream.Event) int {
		return cmp.Or(cmp.Compare(a.Pos.Partition, b.Pos.Partition), cmp.Compare(a.Pos.Offset, b.Pos.Offset))
	})
	for _, ev := range evs {
		fmt.Println("play", ev.Get("event_id").Int(), "customer", ev.Key, "at", ev.Pos)
	}
	for _, ev := range dead.Events() {
		fmt.Println("dead letter at", ev.Get("position").Text())
	}
	// Output:
	// produced 4
	// play 1 customer 42 at plays/0/0
	// play 3 customer 42 at plays/0/1
	// play 2 customer 43 at plays/2/0
	// dead letter at plays/0/2
}

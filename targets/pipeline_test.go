package targets_test

import (
	"context"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// TestDemoInPipeline runs the demo targets as the sink and dead-letter sink
// of a pipeline: emissions and a malformed record end up in their queues.
func TestDemoInPipeline(t *testing.T) {
	rdb, px := testRedis(t)
	demo, err := demoRouter(rdb, demoConfig{Prefix: px, MarkerPrefix: px + "m:"})
	if err != nil {
		t.Fatal(err)
	}
	evs := []stream.Event{emission("ads", "upgrade_ad", 1), emission("sms", "sms_offer", 2), emission("interest", "interest_list", 3)}
	src := stream.NewChanSource("emissions")
	p := stream.New("targets", stream.Config{}).From(src).To(demo).DeadLetter(demo)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	bad := stream.Reject{Pos: stream.Position{Source: "tracks.csv", Offset: 9, Line: true}, Reason: "bad id", Raw: []byte("x,y")}
	select {
	case src.C <- stream.Batch{Events: evs, Rejects: []stream.Reject{bad}}:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	close(src.C)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"queue:ads": 1, "queue:sms": 1, "queue:interest": 1, "queue:deadletter": 1} {
		if n := rdb.XLen(ctx, px+key).Val(); n != want {
			t.Errorf("%s has %d entries, want %d", key, n, want)
		}
	}
	if xs := rdb.XRange(ctx, px+"queue:deadletter", "-", "+").Val(); len(xs) == 1 && xs[0].Values["position"] != "tracks.csv:9" {
		t.Errorf("dead letter %v", xs[0].Values)
	}
}

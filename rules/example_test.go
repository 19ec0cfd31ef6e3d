package rules_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// enrichedPlay builds a play joined with a customer of the given level.
func enrichedPlay(eventID, cust int64, at time.Time, level int64) stream.Event {
	f := []stream.Value{stream.Int(eventID), stream.Int(cust), stream.Int(3), stream.Time(at), stream.Bool(true), stream.String("95051")}
	ev := stream.Event{Key: stream.Int(cust).Text(), Time: at.UnixNano(), Schema: stream.PlaySchema, Fields: f}
	vals := make([]stream.Value, stream.CustomerSchema.Len())
	vals[stream.CustomerSchema.Index("id")] = stream.Int(cust)
	vals[stream.CustomerSchema.Index("name")] = stream.String("Ann")
	vals[stream.CustomerSchema.Index("level")] = stream.Int(level)
	vals[stream.CustomerSchema.Index("status")] = stream.Int(1)
	ev.SetJoin("customer", &stream.Record{Schema: stream.CustomerSchema, Values: vals})
	return ev
}

func ExampleEngine() {
	set, err := rules.LoadDemo()
	if err != nil {
		panic(err)
	}
	en, err := rules.NewEngine(set, rules.EngineConfig{Explain: true})
	if err != nil {
		panic(err)
	}
	t := time.Date(2014, 10, 1, 9, 0, 0, 0, time.UTC)
	in := []stream.Event{
		enrichedPlay(1, 7, t, 1),                   // Silver: upgrade_ad fires
		enrichedPlay(2, 7, t.Add(time.Hour), 1),    // within the 24h cooldown
		enrichedPlay(3, 8, t.Add(2*time.Hour), 2),  // Gold
		enrichedPlay(4, 7, t.Add(25*time.Hour), 1), // cooldown over
	}
	var out stream.Emitter
	if err := en.Process(context.Background(), in, &out); err != nil {
		panic(err)
	}
	for _, e := range out.Events() {
		fmt.Println(e.Target, e.ID, e.Get("explain").Str())
	}
	// Output:
	// ads upgrade_ad:7:1 {"rule":"upgrade_ad","version":"demo-1","values":{"customer.level":1,"customer.status":1}}
	// ads upgrade_ad:7:4 {"rule":"upgrade_ad","version":"demo-1","values":{"customer.level":1,"customer.status":1}}
}

func ExampleEnv_Load() {
	_, err := rules.DefaultEnv().Load("rules.yaml", []byte(`rules:
  - name: upgrade_ad
    when: customer.levl < 2
    target: ads
`))
	fmt.Println(err)
	// Output:
	// rules.yaml:3:11: rule "upgrade_ad": when: ERROR: <input>:1:9: undefined field 'levl'
	//  | customer.levl < 2
	//  | ........^
}

func ExampleBacktest() {
	set, _ := rules.LoadDemo()
	t := time.Date(2014, 10, 1, 9, 0, 0, 0, time.UTC)
	src := stream.NewSliceSource("history", []stream.Event{
		enrichedPlay(1, 7, t, 1), enrichedPlay(2, 7, t.Add(time.Minute), 1), enrichedPlay(3, 9, t.Add(2*time.Minute), 0),
	}, 0)
	rep, err := rules.Backtest(context.Background(), set, src, rules.BacktestConfig{Samples: 1})
	if err != nil {
		panic(err)
	}
	_ = rep.Format(os.Stdout)
	// Output:
	// backtest of rule set demo-1 over 3 events
	// rule        target    firings  keys  suppressed  skipped  errors
	// interest    interest  0        0     0           0        0
	// upgrade_ad  ads       2        2     1           0        0
	// sms_offer   sms       0        0     0           0        0
	//   upgrade_ad upgrade_ad:7:1 2014-10-01T09:00:00Z customer_id=7 track_id=3 event_id=1
}

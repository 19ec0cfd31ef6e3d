package targets_test

import (
	"context"
	"fmt"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

func ExampleTemplate() {
	ev := emission("interest", "interest_list", 5)
	key, err := stream.MustTemplate("interest:{customer_id}").Render(&ev)
	fmt.Println(key, err)
	_, err = stream.MustTemplate("offer:{offer_id}").Render(&ev)
	fmt.Println(err)
	// Output:
	// interest:1005 <nil>
	// template "offer:{offer_id}": event "interest_list:1005:5" (target "interest") has no value for {offer_id}
}

func ExampleRouter() {
	ads, sms := targets.NewMemory(), targets.NewMemory()
	r, _ := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"ads": {ads}, "sms": {sms}}})
	evs := []stream.Event{emission("ads", "upgrade_ad", 1), emission("sms", "sms_offer", 2), emission("ads", "upgrade_ad", 1)}
	fmt.Println(r.Write(context.Background(), evs))
	fmt.Println(len(ads.Events("")), "ads (the repeat is ignored),", len(sms.Events("")), "sms")
	fmt.Println(r.Write(context.Background(), []stream.Event{emission("mail", "newsletter", 3)}))
	// Output:
	// <nil>
	// 1 ads (the repeat is ignored), 1 sms
	// targets: no route for target "mail" (event "newsletter:1003:3")
}

func ExampleWrite() {
	fmt.Println(targets.XAdd("queue:ads", "customer_id", "track_id"))
	fmt.Println(targets.Write{Op: targets.OpSortedSet, Key: "interest:{customer_id}"}.Validate())
	// Output:
	// XADD queue:ads
	// write ZADD interest:{customer_id}: a sorted set needs a Member field
}

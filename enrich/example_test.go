package enrich_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/stream"
)

func ExampleSplitRow() {
	fields, err := enrich.SplitRow(`172,Bucks Boogie,"Blue Öyster Cult",295`, nil)
	fmt.Printf("%q %v\n", fields, err)
	_, err = enrich.SplitRow(`326,Helplessly Hoping,"Crosby,195`, nil)
	fmt.Println(err)
	fields, ok := enrich.RecoverRow(`326,Helplessly Hoping,"Crosby,195`, 4, nil)
	fmt.Printf("%q %v\n", fields, ok)
	// Output:
	// ["172" "Bucks Boogie" "Blue Öyster Cult" "295"] <nil>
	// unbalanced double quote
	// ["326" "Helplessly Hoping" "Crosby" "195"] true
}

func ExampleCache() {
	clock := stream.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cache, _ := enrich.NewCache(enrich.CacheConfig{MaxEntries: 1000, TTL: time.Minute, NegativeTTL: 10 * time.Second, Clock: clock})
	cache.Set("42", &stream.Record{Schema: stream.TrackSchema, Values: []stream.Value{stream.Int(42), stream.String("Hold On Loosely"), stream.String(".38 Special"), stream.Int(253)}})
	cache.Set("999", nil) // known to be unknown
	rec, ok := cache.Get("42")
	fmt.Println(rec.Get("title").Str(), ok)
	rec, ok = cache.Get("999")
	fmt.Println(rec == nil, ok)
	clock.Advance(11 * time.Second)
	_, ok = cache.Get("999")
	fmt.Println(ok)
	// Output:
	// Hold On Loosely true
	// true true
	// false
}

// ExampleLookup wires a customer lookup, with invalidation, into a pipeline.
func ExampleLookup() {
	ctx := context.Background()
	client, err := enrich.Connect(ctx, os.Getenv("REDIS_URL"), nil) // e.g. rediss://app:secret@redis:6380/0
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	cfg := enrich.CustomerLookup("")
	cfg.Unknown = enrich.DeadLetterUnknown
	customers, err := enrich.NewLookup(client, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	iv := enrich.NewInvalidator(client, enrich.InvalidatorConfig{})
	iv.WatchLookup(customers)
	go iv.Run(ctx) //nolint:errcheck // stops with ctx

	src := stream.NewFileSource("tracks.csv", stream.PlayDecoder{}, stream.FileConfig{})
	p := stream.New("enriched", stream.Config{}).From(src).Via(customers).To(stream.NewCollectSink())
	fmt.Println(p.Run(ctx), customers.Health().Degraded)
}

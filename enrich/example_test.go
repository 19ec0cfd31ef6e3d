package enrich_test

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	track := stream.MustSchema("track", stream.Field{Name: "id", Kind: stream.KindInt}, stream.Field{Name: "title", Kind: stream.KindString},
		stream.Field{Name: "artist", Kind: stream.KindString}, stream.Field{Name: "length", Kind: stream.KindInt})
	cache.Set("42", &stream.Record{Schema: track, Values: []stream.Value{stream.Int(42), stream.String("Hold On Loosely"), stream.String(".38 Special"), stream.Int(253)}})
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

// ExampleLookup wires a customer lookup, with invalidation, into a pipeline
// reading plays from a CSV file with a header.
func ExampleLookup() {
	ctx := context.Background()
	client, err := enrich.Connect(ctx, os.Getenv("REDIS_URL"), nil) // e.g. rediss://app:secret@redis:6380/0
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	customer := stream.MustSchema("customer", stream.Field{Name: "name", Kind: stream.KindString}, stream.Field{Name: "level", Kind: stream.KindInt})
	customers, err := enrich.NewLookup(client, enrich.LookupConfig{
		Name:    "customer",
		Key:     "customer:{customer_id}",
		Schema:  customer,
		Unknown: enrich.DeadLetterUnknown,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	iv := enrich.NewInvalidator(client, enrich.InvalidatorConfig{})
	iv.WatchLookup(customers)
	go iv.Run(ctx) //nolint:errcheck // stops with ctx

	// The plays' schema is declared: the pipeline refuses, at start, a
	// lookup key over a field the plays lack.
	play := stream.MustSchema("play", stream.Field{Name: "customer_id", Kind: stream.KindInt}, stream.Field{Name: "datetime", Kind: stream.KindTime})
	plays, err := stream.NewHeaderCSVDecoder(stream.RecordSpec{Schema: play, TimeField: "datetime", KeyFields: []string{"customer_id"}}, stream.CSVConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	src := stream.NewFileSource("plays.csv", plays, stream.FileConfig{})
	p := stream.New("enriched", stream.Config{}).From(src).Via(customers).To(stream.NewCollectSink())
	fmt.Println(p.Run(ctx), customers.Health().Degraded)
}

// ExampleTable declares reference data to load with LoadTable: three
// columns of a CSV file with a header, into hashes customer:<CustID>.
func ExampleTable() {
	customers := enrich.Table{
		Name: "customer",
		Key:  "customer:{id}",
		Columns: []enrich.Column{
			{Header: "CustID", Field: "id", Kind: stream.KindInt},
			{Header: "Name", Field: "name"},
			{Header: "Level", Field: "level", Kind: stream.KindInt},
		},
	}
	fmt.Println(customers.Validate())
	customers.Key = "customer:{cust_id}"
	fmt.Println(customers.Validate())
	// Output:
	// <nil>
	// enrich: table customer: Key "customer:{cust_id}" reads field "cust_id", which no column writes (fields id,name,level)
}

// ExampleLoadTable loads every column of a CSV file into hashes keyed by
// two of them, and prints the summary line.
func ExampleLoadTable() {
	ctx := context.Background()
	client, err := enrich.Connect(ctx, os.Getenv("REDIS_URL"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	csv := "country,city,population\nFR,Paris,2102650\nFR,Lyon,520774\n"
	sum, err := enrich.LoadTable(ctx, client, strings.NewReader(csv), enrich.Table{Name: "city", Key: "city:{country}:{city}"}, enrich.LoadConfig{})
	fmt.Println(sum.Loaded, err) // hashes city:FR:Paris and city:FR:Lyon
}
